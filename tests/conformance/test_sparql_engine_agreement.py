"""The SPARQL endpoint's two evaluators give the same answers: pyoxigraph (what the endpoint uses)
and rdflib (where it must, and before). Each query is answered by both over the same graphs: the
documented example queries and the queries of the endpoint's tests, on the shipped graph, and
queries that tell union default graph and named graphs apart, on graphs sharing a statement.
SELECT results compare as multisets of rows, ASK as booleans, graphs by isomorphism; every
format pyoxigraph writes is read back and compared with rdflib's answer."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result

from payerkg.editing.revisions import REVISIONS_GRAPH
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.sparql_endpoint.oxigraph import oxigraph_graphs
from payerkg.sparql_endpoint.query import (
    Answer,
    ServedGraphs,
    answer_query,
    example_queries,
    policy_graphs,
)

W3C = Path(__file__).resolve().parents[1] / "api" / "w3c-protocol"
BASE = "http://localhost/sparql"

MEDICARE = "https://w3id.org/payerkg/payer/medicare"
SHIPPED_QUERIES = {
    **{f"example-{e.name}": e.text for e in example_queries()},
    # tests/api/test_sparql_protocol.py
    "payers": "SELECT ?payer ?label WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer",
    "ask-payer": "ASK { ?payer a pk:Payer }",
    "construct-payers": "CONSTRUCT { ?payer a pk:Payer } WHERE { ?payer a pk:Payer }",
    "describe-medicare": "DESCRIBE payer:medicare",
    "construct-where-limit": (
        "CONSTRUCT WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer LIMIT 3 OFFSET 1"
    ),
    "construct-empty-template": "CONSTRUCT {} WHERE { ?payer a pk:Payer }",
    "ask-code-valid-through": "ASK { cpt:99441 pk:validThrough ?d }",
    "describe-rule-version": "DESCRIBE rv:medicare-telehealth-em-practitioners",
    # tests/api/test_sparql_clients.py
    "ask-medicare": f"ASK {{ <{MEDICARE}> a pk:Payer }}",
    "construct-where-limit-2": "CONSTRUCT WHERE { ?payer a pk:Payer } ORDER BY ?payer LIMIT 2",
    "medicare-statements": f"SELECT ?p ?o WHERE {{ <{MEDICARE}> ?p ?o }}",
    # the graph as a whole: counts over the union default graph, graphs by name, paths, aggregates
    "count-all": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "count-per-graph": "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "graphs-of-medicare": f"SELECT DISTINCT ?g {{ GRAPH ?g {{ <{MEDICARE}> ?p ?o }} }}",
    "blank-nodes": "SELECT ?s ?p ?o { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) }",
    "describe-blank-node-holders": (
        "DESCRIBE ?s WHERE { { SELECT DISTINCT ?s { ?s ?p ?o FILTER (isIRI(?s) && isBlank(?o)) } "
        "ORDER BY ?s LIMIT 5 } }"
    ),
    "classes-path": "SELECT ?c ?super { ?c rdfs:subClassOf+ ?super } ORDER BY ?c ?super",
    "optional-notation": (
        "SELECT ?code ?notation ?through { ?code skos:notation ?notation "
        "OPTIONAL { ?code pk:validThrough ?through } } ORDER BY ?notation LIMIT 300"
    ),
    "languages-and-types": (
        "SELECT ?type ?lang (COUNT(*) AS ?n) "
        "{ ?s ?p ?o FILTER isLiteral(?o) BIND (DATATYPE(?o) AS ?type) BIND (LANG(?o) AS ?lang) } "
        "GROUP BY ?type ?lang"
    ),
    "strings": (
        "SELECT ?s (UCASE(?label) AS ?u) (STRLEN(?label) AS ?n) (CONCAT(?label, '!') AS ?c) "
        "{ ?s rdfs:label ?label } ORDER BY ?s LIMIT 100"
    ),
    "dates": (
        "SELECT ?rv (YEAR(?start) AS ?y) "
        "{ ?rv pk:effectiveStart ?start FILTER (?start >= '2024-01-01'^^xsd:date) }"
    ),
    "values-minus": (
        "SELECT ?payer { VALUES ?payer { payer:medicare payer:nowhere } MINUS { ?payer a pk:Payer } }"
    ),
    "relative-iri": "SELECT ?x { BIND (<relative> AS ?x) }",
    "own-prefix-wins": "PREFIX pk: <urn:other#> SELECT ?x { BIND (pk:Payer AS ?x) }",
    "construct-with-blank-template": (
        "CONSTRUCT { ?payer pk:note [ rdfs:label ?label ] } WHERE { ?payer a pk:Payer ; rdfs:label ?label }"
    ),
    "subquery-exists": (
        "SELECT ?payer ?n { { SELECT ?payer (COUNT(?rule) AS ?n) { ?rule pk:payer ?payer } GROUP BY ?payer } "
        "FILTER EXISTS { ?payer a pk:Payer } }"
    ),
}
"""What the shipped graph is asked (the W3C protocol entries are asked of their own data below)."""
UNORDERED = {"example-secondary-only-rules": ("sources", " | ")}
"""GROUP_CONCAT columns, and their separator: SPARQL leaves the order of the parts open, and the
engines differ in it, so they compare as sets of parts."""
RDFLIB_FAILS = {
    "group-by-expressions": (
        "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER isLiteral(?o) } GROUP BY (DATATYPE(?o)) (LANG(?o))",
        "rdflib 7.6 raises TypeError grouping by an expression without AS",
    ),
}
"""Valid queries rdflib cannot evaluate (the endpoint answered them malformed_query); pyoxigraph does."""
DESCRIBE_LIMIT = "DESCRIBE ?s WHERE { ?s ?p ?o FILTER (isIRI(?s) && isBlank(?o)) } ORDER BY ?s LIMIT 5"
"""Where the engines differ: LIMIT cuts the solutions (SPARQL 1.1 section 16.4), five rows about two
codes here, so pyoxigraph describes two codes; rdflib describes five (it limits distinct resources)."""

W3C_QUERIES = {
    # tests/api/w3c-protocol/manifest.ttl, the data files as named graphs (as the protocol tests serve them)
    "w3c-select": "SELECT * WHERE { ?s ?p ?o }",
    "w3c-ask": "ASK { ?s ?p ?o }",
    "w3c-describe": "DESCRIBE <http://example.org/person/alice>",
    "w3c-construct": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "w3c-graphs": "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "shared-statement-once": "SELECT ?s ?p ?o { ?s ?p ?o }",
    "shared-statement-per-graph": "SELECT ?g ?s { GRAPH ?g { ?s ?p ?o } }",
    "no-revisions-graph": f"ASK {{ GRAPH <{REVISIONS_GRAPH}> {{ ?s ?p ?o }} }}",
    "no-revision-statements": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
}

TABULAR_MEDIA = ("application/sparql-results+json", "application/sparql-results+xml")
GRAPH_MEDIA = {
    "application/n-triples": "nt",
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
}


@cache
def shipped() -> tuple[Dataset, ServedGraphs]:
    policy: PolicyGraph = load_dataset()
    dataset = policy_graphs(policy.dataset)
    return dataset, ServedGraphs.of(dataset, oxigraph_graphs(dataset))


@cache
def w3c_graphs() -> tuple[Dataset, ServedGraphs]:
    """The manifest's data files as named graphs, a statement held by two graphs, and revision
    records that the endpoint must not show."""
    dataset = Dataset(default_union=True)
    for path in sorted(W3C.glob("data*.nt")):
        dataset.graph(URIRef(f"http://example.org/{path.stem}")).parse(path, format="nt")
    shared = (URIRef("urn:shared"), URIRef("urn:p"), Literal("in two graphs"))
    dataset.graph(URIRef("urn:g1")).add(shared)
    dataset.graph(URIRef("urn:g2")).add(shared)
    dataset.graph(REVISIONS_GRAPH).add((URIRef("urn:revision:1"), URIRef("urn:author"), Literal("someone")))
    served = policy_graphs(dataset)
    return served, ServedGraphs.of(served, oxigraph_graphs(served))


def both(graphs: tuple[Dataset, ServedGraphs], text: str, media: str) -> Iterator[Answer]:
    dataset, served = graphs
    assert served.oxigraph is not None, "pyoxigraph took every term of the graphs"
    yield answer_query(dataset, text, media, base=BASE)  # rdflib
    yield answer_query(served, text, media, base=BASE)  # pyoxigraph


def rows(answer: Answer, media: str, unordered: tuple[str, str] | None = None) -> Counter[object]:
    """The rows as a multiset, each row as its bindings by variable name."""
    parser = "json" if media.endswith("json") else "xml"
    result = Result.parse(io.BytesIO(answer.body), format=parser)
    if result.type == "ASK":
        return Counter([result.askAnswer])
    found: Counter[object] = Counter()
    for row in result.bindings:
        bound = {str(variable): value for variable, value in row.items()}
        if unordered and unordered[0] in bound:
            bound[unordered[0]] = frozenset(str(bound[unordered[0]]).split(unordered[1]))  # type: ignore[assignment]
        found[frozenset(bound.items())] += 1
    return found


def assert_agree(
    graphs: tuple[Dataset, ServedGraphs], text: str, unordered: tuple[str, str] | None = None
) -> None:
    reference, answer = both(graphs, text, "*/*")
    assert reference.form == answer.form
    if answer.form in ("SELECT", "ASK"):
        expected = rows(reference, "application/sparql-results+json", unordered)
        assert expected, "the query has an answer to compare"
        for media in TABULAR_MEDIA:
            (_, answer) = both(graphs, text, media)
            assert rows(answer, media, unordered) == expected, media
        return
    (reference, _) = both(graphs, text, "application/n-triples")
    expected_graph = Graph().parse(data=reference.body, format="nt")
    for media, parser in GRAPH_MEDIA.items():
        (_, answer) = both(graphs, text, media)
        assert isomorphic(Graph().parse(data=answer.body, format=parser), expected_graph), media


@pytest.mark.parametrize("name", sorted(SHIPPED_QUERIES))
def test_both_engines_answer_alike_on_the_shipped_graph(name: str) -> None:
    assert_agree(shipped(), SHIPPED_QUERIES[name], UNORDERED.get(name))


@pytest.mark.parametrize("name", sorted(RDFLIB_FAILS))
def test_pyoxigraph_answers_what_rdflib_cannot(name: str) -> None:
    text, _ = RDFLIB_FAILS[name]
    dataset, served = shipped()
    with pytest.raises(Exception):  # noqa: B017 - whatever rdflib raises; the worker reports malformed_query
        answer_query(dataset, text)
    assert b"bindings" in answer_query(served, text).body


@pytest.mark.parametrize("name", sorted(W3C_QUERIES))
def test_both_engines_answer_alike_on_graphs_sharing_a_statement(name: str) -> None:
    assert_agree(w3c_graphs(), W3C_QUERIES[name])


def test_describe_with_limit_describes_the_resources_of_the_limited_solutions() -> None:
    dataset, served = shipped()
    solutions = answer_query(served, DESCRIBE_LIMIT.replace("DESCRIBE ?s", "SELECT ?s"), "text/csv").body
    resources = set(solutions.decode().split()[1:])
    described = Graph().parse(data=answer_query(served, DESCRIBE_LIMIT, "application/n-triples").body)
    assert {str(s) for s in described.subjects() if isinstance(s, URIRef)} == resources
    by_rdflib = Graph().parse(data=answer_query(dataset, DESCRIBE_LIMIT, "application/n-triples").body)
    assert len({s for s in by_rdflib.subjects() if isinstance(s, URIRef)}) == 5 > len(resources)


def test_the_union_default_graph_holds_a_shared_statement_once() -> None:
    _, served = w3c_graphs()
    body = answer_query(served, "SELECT ?o { <urn:shared> ?p ?o }", "text/csv").body
    assert body.decode().split() == ["o", "in", "two", "graphs"]
    revisions = answer_query(served, f"ASK {{ GRAPH <{REVISIONS_GRAPH}> {{ ?s ?p ?o }} }}").body
    assert b"false" in revisions
