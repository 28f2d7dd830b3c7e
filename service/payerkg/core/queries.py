"""SPARQL queries, kept as .rq files in payerkg/queries and prepared once by name."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Identifier

QUERY_PACKAGE = "payerkg.queries"


def query_text(name: str) -> str:
    """The text of ``queries/<name>.rq``."""
    return (resources.files(QUERY_PACKAGE) / f"{name}.rq").read_text(encoding="utf-8")


@cache
def prepared(name: str) -> Query:
    """The prepared form of ``queries/<name>.rq``; values are bound at run time with initBindings."""
    return prepareQuery(query_text(name))


Row = dict[str, Any]


def select(graph: Graph, name: str, **bindings: Identifier) -> list[Row]:
    """Run the SELECT query ``name`` with RDF-term bindings; rows map variable names to terms.

    Unbound variables are absent from a row, so ``row.get("x")`` is None for them.
    """
    result = graph.query(prepared(name), initBindings=bindings)
    return [
        {str(var): value for var, value in row.asdict().items()}  # type: ignore[union-attr]
        for row in result
    ]
