"""The SPARQL endpoint as widely used clients call it, against `payerkg serve` in its own process:
SPARQLWrapper in each return format and method it offers, and rdflib's SPARQLStore, for SELECT,
ASK, CONSTRUCT, DESCRIBE and CONSTRUCT WHERE with LIMIT. Neither client was written for payerkg:
each sends what it sends to any SPARQL server (format parameters, RDF/XML by default)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import CSV, GET, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper import RDF as RDF_FORMAT

from tests.service_process import ServiceProcess

PK = "https://w3id.org/payerkg/ontology#"
PAYER = URIRef(PK + "Payer")
MEDICARE = URIRef("https://w3id.org/payerkg/payer/medicare")
QUERIES = {
    "select": f"SELECT ?payer ?label WHERE {{ ?payer a <{PAYER}> ; <{RDFS.label}> ?label }}",
    "ask": f"ASK {{ <{MEDICARE}> a <{PAYER}> }}",
    "construct": f"CONSTRUCT {{ ?payer a <{PAYER}> }} WHERE {{ ?payer a <{PAYER}> }}",
    "describe": f"DESCRIBE <{MEDICARE}>",
    "construct-where-limit": f"CONSTRUCT WHERE {{ ?payer a <{PAYER}> }} ORDER BY ?payer LIMIT 2",
}
TABULAR = {"select", "ask"}

# What each SPARQLWrapper return format is answered in: the format it names where the query form
# has one, otherwise the default (SPARQLWrapper then asks for */* and warns).
TABULAR_ANSWER = {
    None: "application/sparql-results+xml",  # SPARQLWrapper's default return format is XML
    XML: "application/sparql-results+xml",
    JSON: "application/sparql-results+json",
    CSV: "text/csv",
    TSV: "text/tab-separated-values",
}
GRAPH_ANSWER = {
    None: "application/rdf+xml",
    XML: "application/rdf+xml",
    RDFXML: "application/rdf+xml",
    RDF_FORMAT: "application/rdf+xml",
    JSON: "application/ld+json",
    JSONLD: "application/ld+json",
    TURTLE: "text/turtle",
    N3: "text/turtle",
}
RESULT_PARSERS = {
    "application/sparql-results+xml": "xml",
    "application/sparql-results+json": "json",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_PARSERS = {
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "text/turtle": "turtle",
}
FORMATS = [None, XML, JSON, CSV, TSV, TURTLE, N3, RDF_FORMAT, RDFXML, JSONLD]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log: Path = tmp_path_factory.mktemp("sparql-clients") / "service.log"
    service = ServiceProcess({"PAYERKG_ANONYMOUS_ROLE": "reader"}, log)
    service.start()
    try:
        yield f"{service.url}/sparql"
    finally:
        service.stop()


@pytest.fixture(scope="module")
def payers(endpoint: str) -> set[URIRef]:
    graph = Graph(store=SPARQLStore(endpoint))
    return {URIRef(str(payer)) for payer in graph.subjects(RDF.type, PAYER)}


def expected_media(form: str, return_format: str | None) -> str:
    if form in TABULAR:
        return TABULAR_ANSWER.get(return_format, "application/sparql-results+json")
    return GRAPH_ANSWER.get(return_format, "text/turtle")


@pytest.mark.process
@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize("return_format", FORMATS, ids=lambda f: f or "default")
@pytest.mark.parametrize("form", sorted(QUERIES))
def test_sparqlwrapper_in_every_return_format_and_method(
    endpoint: str, payers: set[URIRef], form: str, return_format: str | None, method: str
) -> None:
    client = SPARQLWrapper(endpoint)
    client.setQuery(QUERIES[form])
    client.setMethod(method)
    if return_format is not None:
        client.setReturnFormat(return_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SPARQLWrapper warns when it asks for */*
        response = client.query().response
    media = response.headers["content-type"].split(";")[0]
    body = response.read()
    assert media == expected_media(form, return_format)
    if form == "ask" and media in ("text/csv", "text/tab-separated-values"):
        assert body.decode().split() in (["_askResult", "true"], ["?_askResult", "true"])
        return  # rdflib has no CSV or TSV reader for ASK results
    if form in TABULAR:
        result = Result.parse(io.BytesIO(body), format=RESULT_PARSERS[media])
        if form == "ask":
            assert result.askAnswer is True
        else:
            assert {str(row[0]) for row in result} == {str(p) for p in payers}  # type: ignore[index]
        return
    graph = Graph().parse(data=body, format=GRAPH_PARSERS[media])
    if form == "describe":
        assert (MEDICARE, RDF.type, PAYER) in graph
    elif form == "construct":
        assert set(graph.subjects(RDF.type, PAYER)) == payers
    else:
        assert set(graph.subjects(RDF.type, PAYER)) == set(sorted(payers)[:2])


@pytest.mark.process
def test_rdflib_sparqlstore_reads_every_query_form(endpoint: str, payers: set[URIRef]) -> None:
    store = SPARQLStore(endpoint)
    rows = store.query(QUERIES["select"])
    assert {row[0] for row in rows} == payers  # type: ignore[index]
    assert store.query(QUERIES["ask"]).askAnswer is True
    constructed = store.query(QUERIES["construct"]).graph
    assert constructed is not None and set(constructed.subjects(RDF.type, PAYER)) == payers
    described = store.query(QUERIES["describe"]).graph
    assert described is not None and (MEDICARE, RDF.type, PAYER) in described
    limited = store.query(QUERIES["construct-where-limit"]).graph
    assert limited is not None and set(limited.subjects(RDF.type, PAYER)) == set(sorted(payers)[:2])


@pytest.mark.process
def test_rdflib_graph_over_sparqlstore_reads_the_statements(endpoint: str, payers: set[URIRef]) -> None:
    graph = Graph(store=SPARQLStore(endpoint))
    about = set(graph.predicate_objects(MEDICARE))
    assert (RDF.type, PAYER) in about and len(about) > 2
    assert (MEDICARE, RDF.type, PAYER) in graph
    assert len(payers) > 5
