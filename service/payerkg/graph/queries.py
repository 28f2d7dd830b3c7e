"""SPARQL queries, kept as .rq files in payerkg/queries and prepared once by name."""

from __future__ import annotations

import threading
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rdflib's SPARQL engine is imported by the first query, not by every command
    from rdflib import Graph
    from rdflib.plugins.sparql.sparql import Query
    from rdflib.term import Identifier

QUERY_PACKAGE = "payerkg.queries"


def query_text(name: str) -> str:
    """The text of ``queries/<name>.rq``."""
    return (resources.files(QUERY_PACKAGE) / f"{name}.rq").read_text(encoding="utf-8")


_PREPARED: dict[str, Query] = {}
SPARQL_PARSER = threading.RLock()
"""Held while rdflib parses SPARQL (its pyparsing grammar is not thread-safe): here, and by the
in-memory store's updates. (Lint's queries run on Oxigraph and parse nothing in rdflib.)"""


def prepared(name: str) -> Query:
    """The prepared form of ``queries/<name>.rq``; values are bound at run time with initBindings."""
    query = _PREPARED.get(name)
    if query is None:
        from rdflib.plugins.sparql import prepareQuery

        with SPARQL_PARSER:
            query = _PREPARED.get(name) or prepareQuery(query_text(name))
            _PREPARED[name] = query
    return query


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
