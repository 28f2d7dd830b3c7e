"""Result formats of the SPARQL endpoint: their media types, the names clients ask by, and
which one an Accept header (or a format parameter) picks for a query form."""

from __future__ import annotations

from collections.abc import Sequence

from payerkg.errors import NotAcceptable
from payerkg.media import negotiate

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
RDF_XML = "application/rdf+xml"

TABULAR_FORMATS = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
"""Formats of SELECT and ASK results, the first being the default."""
GRAPH_FORMATS = (TURTLE, NTRIPLES, JSON_LD, RDF_XML)
"""Formats of CONSTRUCT and DESCRIBE results, the first being the default. RDF/XML is what
SPARQLWrapper asks for by default and rdflib's SPARQLStore always asks for."""
ALIASES = {
    "tabular": {"application/json": SPARQL_JSON, "application/xml": SPARQL_XML},
    "graph": {
        "application/json": JSON_LD,
        "application/xml": RDF_XML,
        "application/turtle": TURTLE,
        "application/x-turtle": TURTLE,
    },
}
"""Other names clients ask by (``application/json``; SPARQLWrapper's ``application/turtle``)."""
FORMAT_PARAMETERS = ("format", "output", "results")
"""URL parameters that name a result format, as Virtuoso, Fuseki and 4store read them; SPARQLWrapper
sends all three with every query."""
FORMAT_NAMES = {
    "xml": (SPARQL_XML, RDF_XML),
    "json": (SPARQL_JSON, JSON_LD),
    "json-ld": (JSON_LD,),
    "jsonld": (JSON_LD,),
    "turtle": (TURTLE,),
    "ttl": (TURTLE,),
    "n3": (TURTLE,),  # Turtle is N3's RDF subset
    "rdf": (RDF_XML,),
    "rdf+xml": (RDF_XML,),
    "rdfxml": (RDF_XML,),
    "nt": (NTRIPLES,),
    "ntriples": (NTRIPLES,),
    "n-triples": (NTRIPLES,),
    "csv": (CSV,),
    "tsv": (TSV,),
}
"""Format names a format parameter may give, and the media types each stands for."""


def accept_from_format_names(values: Sequence[str]) -> str | None:
    """An Accept header for the formats that format parameters name (a name or a media type), or
    None when they name none, and the request's Accept header decides.

    >>> accept_from_format_names(["rdf+xml", "application/rdf+xml"])
    'application/rdf+xml, application/rdf+xml'
    >>> accept_from_format_names(["nonsense", ""]) is None
    True
    """
    media: list[str] = []
    for value in values:
        value = value.strip().lower()
        if "/" in value and value.count("/") == 1 and "," not in value:
            media.append(value)
        else:
            media.extend(FORMAT_NAMES.get(value, ()))
    return ", ".join(media) if media else None


def choose_format(kind: str, accept: str | Sequence[str]) -> str:
    """The media type the Accept header ``accept`` prefers for a ``kind`` ("tabular" or "graph")
    result; of several headers, the first that accepts one.

    >>> choose_format("graph", "text/turtle;q=0, application/rdf+xml;q=0.5")
    'application/rdf+xml'
    >>> choose_format("tabular", ["application/rdf+xml", "*/*"])
    'application/sparql-results+json'
    """
    formats = TABULAR_FORMATS if kind == "tabular" else GRAPH_FORMATS
    for header in accept_headers(accept):
        chosen = negotiate(header, formats, ALIASES[kind])
        if chosen is not None:
            return chosen
    raise NotAcceptable("this query's result can be sent as " + ", ".join(formats), "accept")


def accept_headers(accept: str | Sequence[str]) -> tuple[str, ...]:
    return (accept,) if isinstance(accept, str) else tuple(accept)
