"""SPARQL queries, kept as .rq files in payerkg/queries and prepared once by name."""

from __future__ import annotations

from functools import cache
from importlib import resources

from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

QUERY_PACKAGE = "payerkg.queries"


def query_text(name: str) -> str:
    """The text of ``queries/<name>.rq``."""
    return (resources.files(QUERY_PACKAGE) / f"{name}.rq").read_text(encoding="utf-8")


@cache
def prepared(name: str) -> Query:
    """The prepared form of ``queries/<name>.rq``; values are bound at run time with initBindings."""
    return prepareQuery(query_text(name))
