"""The SPARQL 1.1 Protocol: the W3C query cases, driven from their manifest, and content negotiation.

The manifest and data are copied into tests/api/w3c-protocol/ (W3C test suite licence, see its
LICENSE.md) so a fresh clone runs them. Our endpoint only reads and answers from its own graph,
so some entries are expected to be refused; each is listed below with its reason, and every entry
of the manifest must be either run as written or listed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.query import Result
from rdflib.term import Node

from payerkg.api.app import create_app
from payerkg.api.problems import STATUS_BY_ERROR
from payerkg.errors import (
    ForbiddenFeature,
    InvalidQueryRequest,
    MalformedQuery,
    NotAcceptable,
    QueryBusy,
    QueryTimeout,
    ResultTooLarge,
    TooManyRequests,
)
from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PREFIXES
from payerkg.settings import Settings
from payerkg.sparql_endpoint.query import example_queries
from payerkg.stores import MemoryStore

HERE = Path(__file__).resolve().parent
W3C = HERE / "w3c-protocol"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

DATASET_PARAMETERS = {"default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"}

UPDATE_REFUSED = {
    name: "read-only endpoint: the update is refused with 400 forbidden_feature; the follow-up ASK that "
    "checks the update's effect is skipped (the update never ran)"
    for name in (
        "update_dataset_default_graph",
        "update_dataset_default_graphs",
        "update_dataset_named_graphs",
        "update_dataset_full",
        "update_post_form",
        "update_post_direct",
        "update_base_uri",
    )
}
DATASET_REFUSED = {
    "query_post_form": "carries default-graph-uri (data0.rdf)",
    "query_get": "carries default-graph-uri (data0.rdf)",
    "query_content_type_select": "carries default-graph-uri (data0.rdf)",
    "query_content_type_ask": "carries default-graph-uri (data0.rdf)",
    "query_content_type_describe": "carries default-graph-uri (data0.rdf)",
    "query_content_type_construct": "carries default-graph-uri (data0.rdf)",
    "query_dataset_default_graphs_get": "names its default graphs by default-graph-uri",
    "query_dataset_default_graphs_post": "names its default graphs by default-graph-uri",
    "query_dataset_named_graphs_post": "names its named graphs by named-graph-uri",
    "query_dataset_named_graphs_get": "names its named graphs by named-graph-uri",
    "query_dataset_full": "names its graphs by default-graph-uri and named-graph-uri",
    "query_multiple_dataset": "names graphs by named-graph-uri and by FROM in the query",
}
"""Refused as written (400 forbidden_feature). Each is run again without its dataset parameters
against a store holding the manifest's graph data as named graphs, and must then give the
manifest's expected result; query_multiple_dataset keeps FROM in its text and stays refused."""
STAYS_REFUSED_WITHOUT_PARAMETERS = {"query_multiple_dataset": "FROM"}


@dataclass
class ProtocolRequest:
    method: str
    path: str
    params: list[tuple[str, str]]
    body: bytes | None
    headers: dict[str, str]
    expected_status: set[str]
    expected_format: str | None
    expected_boolean: bool | None


@dataclass
class ProtocolTest:
    name: str
    requests: list[ProtocolRequest]
    graph_data: list[tuple[Path, str]] = field(default_factory=list)


def load_manifest(folder: Path = W3C) -> list[ProtocolTest]:
    """Every entry of the manifest, in manifest order."""
    graph = Graph().parse(folder / "manifest.ttl", format="turtle")
    (manifest,) = graph.subjects(RDF.type, MF.Manifest)
    tests = []
    for entry in Collection(graph, _value(graph, manifest, MF.entries)):
        action = _value(graph, entry, MF.action)
        requests = [_request(graph, node) for node in Collection(graph, _value(graph, action, HT.requests))]
        data = [
            (
                folder / Path(urlsplit(str(graph.value(node, UT.graph))).path).name,
                str(graph.value(node, RDFS.label)),
            )
            for node in graph.objects(entry, UT.graphData)
        ]
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[1], requests, sorted(data)))
    return tests


def _value(graph: Graph, subject: Node, predicate: URIRef) -> Node:
    value = graph.value(subject, predicate)
    assert value is not None, f"the manifest gives {subject} a {predicate}"
    return value


def _request(graph: Graph, node: Any) -> ProtocolRequest:
    path, _, query = str(graph.value(node, HT.absolutePath)).partition("?")
    body_node = graph.value(node, HT.body)
    body = None
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    headers = {}
    header_list = graph.value(node, HT.headers)
    if header_list is not None:
        for header in Collection(graph, header_list):
            headers[str(graph.value(header, HT.fieldName))] = str(graph.value(header, HT.fieldValue))
    response = graph.value(node, HT.resp)
    expected = graph.objects(response, MF.expectedStatus)
    statuses = {str(status).rsplit("#", 1)[1].removeprefix("StatusCode") for status in expected}
    fmt = graph.value(response, MF.expectedFormat)
    boolean = graph.value(response, MF.expectedBoolean)
    return ProtocolRequest(
        method=str(graph.value(node, HT.methodName)),
        path="/sparql" if path.rstrip("/") == "/sparql" else path,
        params=parse_qsl(query, keep_blank_values=True),
        body=body,
        headers=headers,
        expected_status=statuses,
        expected_format=str(fmt) if fmt is not None else None,
        expected_boolean=bool(boolean.toPython()) if isinstance(boolean, Literal) else None,
    )


MANIFEST = load_manifest()
BY_NAME = {test.name: test for test in MANIFEST}


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    app = create_app(Settings(anonymous_role="integrator"), policy=policy)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def w3c_client() -> TestClient:
    """The endpoint serving the manifest's graph data, each file as a named graph (its label)."""
    dataset = Dataset(default_union=True)
    for test in MANIFEST:
        for path, label in test.graph_data:
            named = dataset.graph(URIRef(label))
            if not len(named):
                named.parse(path, format="nt")
    app = create_app(Settings(anonymous_role="integrator"), policy=PolicyGraph(MemoryStore(dataset)))
    return TestClient(app, raise_server_exceptions=False)


def send(client: TestClient, request: ProtocolRequest, strip_dataset: bool = False) -> Any:
    params = [(k, v) for k, v in request.params if not (strip_dataset and k in DATASET_PARAMETERS)]
    url = request.path + ("?" + urlencode(params) if params else "")
    return client.request(request.method, url, content=request.body, headers=request.headers)


def check_expected(response: Any, request: ProtocolRequest) -> None:
    """The manifest's expectation: status class, result format and boolean."""
    status_class = f"{response.status_code // 100}xx"
    assert status_class in request.expected_status, (response.status_code, response.text[:300])
    media = response.headers.get("content-type", "").split(";")[0]
    if request.expected_format == "boolean":
        assert media == "application/sparql-results+json"
        assert "boolean" in response.json()
    if request.expected_format == "tabular":
        assert media == "application/sparql-results+json"
        assert {"head", "results"} <= response.json().keys()
    if request.expected_format == "RDF":
        assert media == "text/turtle"
        Graph().parse(data=response.text, format="turtle")
    if request.expected_boolean is not None:
        assert response.json()["boolean"] is request.expected_boolean


def assert_forbidden(response: Any, feature: str | None = None) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "forbidden_feature"
    if feature:
        assert problem["pointer"] == feature


def test_every_manifest_entry_is_run_or_listed_with_a_reason() -> None:
    listed = set(UPDATE_REFUSED) | set(DATASET_REFUSED)
    run_as_written = {t.name for t in MANIFEST} - listed
    assert listed <= set(BY_NAME)
    assert run_as_written == {"query_post_direct"} | {t.name for t in MANIFEST if t.name.startswith("bad_")}
    assert len(MANIFEST) == 34


def test_copied_suite_files_are_unchanged() -> None:
    recorded = [line.split() for line in (W3C / "SHA256SUMS").read_text().splitlines()]
    assert {name for _, name in recorded} == {"manifest.ttl", "data1.nt", "data2.nt", "data3.nt"}
    for digest, name in recorded:
        assert hashlib.sha256((W3C / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(
    "test", [t for t in MANIFEST if t.name not in UPDATE_REFUSED | DATASET_REFUSED], ids=lambda t: t.name
)
def test_w3c_entry_as_written(client: TestClient, test: ProtocolTest) -> None:
    for request in test.requests:
        response = send(client, request)
        check_expected(response, request)
        if test.name.startswith("bad_"):
            assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("name", sorted(DATASET_REFUSED))
def test_w3c_entry_with_dataset_is_refused(client: TestClient, name: str) -> None:
    (request,) = BY_NAME[name].requests
    assert_forbidden(send(client, request))


@pytest.mark.parametrize("name", sorted(DATASET_REFUSED))
def test_w3c_entry_without_dataset_parameters_answers_from_the_served_graphs(
    w3c_client: TestClient, name: str
) -> None:
    (request,) = BY_NAME[name].requests
    response = send(w3c_client, request, strip_dataset=True)
    if name in STAYS_REFUSED_WITHOUT_PARAMETERS:
        assert_forbidden(response, STAYS_REFUSED_WITHOUT_PARAMETERS[name])
    else:
        check_expected(response, request)


@pytest.mark.parametrize("name", sorted(UPDATE_REFUSED))
def test_w3c_update_entry_is_refused_and_changes_nothing(w3c_client: TestClient, name: str) -> None:
    before = len(w3c_client.app.state.served.current().dataset)  # type: ignore[attr-defined]
    assert_forbidden(send(w3c_client, BY_NAME[name].requests[0]))
    assert len(w3c_client.app.state.served.current().dataset) == before  # type: ignore[attr-defined]


# Content negotiation -------------------------------------------------------------------------

SELECT = "SELECT ?payer ?label WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer"
ASK = "ASK { ?payer a pk:Payer }"
CONSTRUCT = "CONSTRUCT { ?payer a pk:Payer } WHERE { ?payer a pk:Payer }"
DESCRIBE = "DESCRIBE payer:medicare"


def expected_rows(policy: PolicyGraph) -> set[tuple[str, str]]:
    rows = policy.dataset.query(SELECT, initNs=dict(PREFIXES))
    return {(str(r[0]), str(r[1])) for r in rows}  # type: ignore[index]


@pytest.mark.parametrize(
    ("media", "parser"),
    [
        ("application/sparql-results+json", "json"),
        ("application/sparql-results+xml", "xml"),
        ("text/csv", "csv"),
        ("text/tab-separated-values", "tsv"),
    ],
)
def test_select_in_each_tabular_format(
    client: TestClient, policy: PolicyGraph, media: str, parser: str
) -> None:
    response = client.get("/sparql", params={"query": SELECT}, headers={"accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    result = Result.parse(io.BytesIO(response.content), format=parser)
    rows = {(str(row[0]), str(row[1])) for row in result}  # type: ignore[index]
    assert rows == expected_rows(policy)
    assert len(rows) > 1


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ("application/sparql-results+json", lambda r: r.json() == {"head": {}, "boolean": True}),
        ("application/sparql-results+xml", lambda r: Result.parse(io.BytesIO(r.content), "xml").askAnswer),
        ("text/csv", lambda r: list(csv.reader(io.StringIO(r.text))) == [["_askResult"], ["true"]]),
        ("text/tab-separated-values", lambda r: r.text.splitlines() == ["?_askResult", "true"]),
    ],
)
def test_ask_in_each_tabular_format(client: TestClient, media: str, expected: Any) -> None:
    response = client.post(
        "/sparql", content=ASK, headers={"content-type": "application/sparql-query", "accept": media}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert expected(response)


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
@pytest.mark.parametrize(
    ("media", "parser"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_graph_results_in_each_rdf_format(
    client: TestClient, policy: PolicyGraph, query: str, media: str, parser: str
) -> None:
    response = client.post("/sparql", data={"query": query}, headers={"accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    graph = Graph().parse(data=response.text, format=parser)
    assert len(graph) > 0
    medicare = URIRef("https://w3id.org/payerkg/payer/medicare")
    assert (medicare, RDF.type, URIRef("https://w3id.org/payerkg/ontology#Payer")) in graph


def test_accept_quality_values_pick_the_format(client: TestClient) -> None:
    accept = "text/csv;q=0.5, application/sparql-results+xml, text/turtle;q=0.9"
    response = client.get("/sparql", params={"query": ASK}, headers={"accept": accept})
    assert response.headers["content-type"].startswith("application/sparql-results+xml")
    response = client.get("/sparql", params={"query": CONSTRUCT}, headers={"accept": accept})
    assert response.headers["content-type"].startswith("text/turtle")


def test_q_zero_refuses_a_format(client: TestClient) -> None:
    accept = "text/turtle;q=0, */*;q=0.5"
    response = client.get("/sparql", params={"query": CONSTRUCT}, headers={"accept": accept})
    assert response.headers["content-type"].startswith("application/n-triples")
    response = client.get("/sparql", params={"query": ASK}, headers={"accept": "*/*;q=0"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("query", "params", "accept", "expected"),
    [
        (SELECT, [("format", "csv")], "application/sparql-results+json", "text/csv"),
        (CONSTRUCT, [("output", "rdf+xml"), ("output", "application/rdf+xml")], "", "application/rdf+xml"),
        (CONSTRUCT, [("format", "json")], "", "application/ld+json"),
        (ASK, [("results", "xml")], "", "application/sparql-results+xml"),
        # A name that does not fit the query form leaves the choice to the Accept header.
        (ASK, [("format", "turtle")], "text/csv", "text/csv"),
        (CONSTRUCT, [("format", "csv")], "", "text/turtle"),
    ],
)
def test_format_parameters_name_the_format_as_other_servers_read_them(
    client: TestClient, query: str, params: list[tuple[str, str]], accept: str, expected: str
) -> None:
    response = client.get("/sparql", params=[("query", query), *params], headers={"accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


def test_construct_where_with_solution_modifiers_is_evaluated(
    client: TestClient, policy: PolicyGraph
) -> None:
    query = "CONSTRUCT WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer LIMIT 3 OFFSET 1"
    response = client.get("/sparql", params={"query": query}, headers={"accept": "application/n-triples"})
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.text, format="nt")
    payers = sorted(str(p) for p in policy.dataset.subjects(RDF.type, URIRef(str(PREFIXES["pk"]) + "Payer")))
    assert sorted({str(s) for s in graph.subjects()}) == payers[1:4]
    assert len(graph) == 6  # each payer's type and its one label


def test_an_empty_construct_template_builds_an_empty_graph(client: TestClient) -> None:
    query = "CONSTRUCT {} WHERE { ?payer a pk:Payer }"
    response = client.get("/sparql", params={"query": query}, headers={"accept": "application/n-triples"})
    assert response.status_code == 200, response.text
    assert response.text.strip() == ""


def test_no_acceptable_format_is_406(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": SELECT}, headers={"accept": "text/turtle"})
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_the_three_protocol_forms_give_the_same_answer(client: TestClient) -> None:
    got = client.get("/sparql", params={"query": SELECT}).json()
    assert client.post("/sparql", data={"query": SELECT}).json() == got
    direct = client.post("/sparql", content=SELECT, headers={"content-type": "application/sparql-query"})
    assert direct.json() == got


# Protocol errors and their mapping ----------------------------------------------------------

MARKER = "zq7marker"


@pytest.mark.parametrize(
    ("label", "request_args", "status", "code"),
    [
        ("no-query", {"method": "GET", "url": "/sparql"}, 400, "invalid_request"),
        (
            "two-queries",
            {"method": "GET", "url": "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"},
            400,
            "invalid_request",
        ),
        (
            "syntax",
            {"method": "GET", "url": f"/sparql?query=SELECT%20{MARKER}%20%7B"},
            400,
            "malformed_query",
        ),
        (
            "undeclared-prefix",
            {"method": "GET", "url": f"/sparql?query=ASK%7B?s%20{MARKER}:p%20?o%7D"},
            400,
            "malformed_query",
        ),
        ("update-param", {"method": "GET", "url": "/sparql?update=CLEAR%20ALL"}, 400, "forbidden_feature"),
        (
            "update-in-query",
            {"method": "GET", "url": f"/sparql?query=DROP%20GRAPH%20%3Curn:{MARKER}%3E"},
            400,
            "forbidden_feature",
        ),
        (
            "from",
            {"method": "GET", "url": f"/sparql?query=ASK%20FROM%20%3Curn:{MARKER}%3E%20%7B%7D"},
            400,
            "forbidden_feature",
        ),
        (
            "text-plain",
            {
                "method": "POST",
                "url": "/sparql",
                "content": "ASK {}",
                "headers": {"content-type": "text/plain"},
            },
            415,
            "unsupported_format",
        ),
        (
            "latin-1",
            {
                "method": "POST",
                "url": "/sparql",
                "content": "ASK {?s ?p 'caf\xe9'}".encode("latin-1"),
                "headers": {"content-type": "application/sparql-query"},
            },
            415,
            "unsupported_format",
        ),
        (
            "too-long",
            {
                "method": "POST",
                "url": "/sparql",
                "content": "#" * (64 * 1024 + 1),
                "headers": {"content-type": "application/sparql-query"},
            },
            413,
            "too_large",
        ),
        ("put", {"method": "PUT", "url": "/sparql?query=ASK%7B%7D"}, 405, "method_not_allowed"),
        ("empty-query", {"method": "GET", "url": "/sparql?query="}, 400, "malformed_query"),
        (
            "comment-only-query",
            {"method": "GET", "url": f"/sparql?query=%23{MARKER}%0A"},
            400,
            "malformed_query",
        ),
        (
            "empty-body",
            {
                "method": "POST",
                "url": "/sparql",
                "content": "",
                "headers": {"content-type": "application/sparql-query"},
            },
            400,
            "malformed_query",
        ),
        (
            "prologue-only",
            {"method": "GET", "url": "/sparql?query=PREFIX%20a%3A%20%3Curn%3Aa%3E"},
            400,
            "malformed_query",
        ),
    ],
)
def test_bad_requests_get_a_problem_that_does_not_echo_the_query(
    client: TestClient, label: str, request_args: dict[str, Any], status: int, code: str
) -> None:
    response = client.request(**request_args)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert MARKER not in response.text
    if code != "forbidden_feature":
        assert "update" not in response.json()["detail"]
    if code == "method_not_allowed":
        assert response.headers["allow"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidQueryRequest, 400),
        (MalformedQuery, 400),
        (ForbiddenFeature, 400),
        (NotAcceptable, 406),
        (ResultTooLarge, 422),
        (QueryTimeout, 503),
        (QueryBusy, 503),
        (TooManyRequests, 429),
    ],
)
def test_each_query_error_maps_to_its_documented_status(error: type[Exception], status: int) -> None:
    assert STATUS_BY_ERROR[error] == status  # type: ignore[index]
    documented = (Path(__file__).resolve().parents[2] / "docs" / "sparql.md").read_text()
    assert re.search(rf"\|\s*`{status}`\s*\|\s*`{error.code}`", documented), error.code  # type: ignore[attr-defined]


def test_openapi_documents_both_methods(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= paths["/sparql"].keys()
    assert "application/sparql-query" in paths["/sparql"]["post"]["requestBody"]["content"]


# The browser page and the example queries ---------------------------------------------------

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_browser_gets_a_self_contained_query_page(client: TestClient) -> None:
    response = client.get("/sparql", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert '<form method="post"' in page and 'name="query"' in page
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    for example in example_queries():
        assert example.title in page


def test_example_link_fills_the_form(client: TestClient) -> None:
    example = example_queries()[0]
    page = client.get("/sparql", params={"example": example.name}, headers=BROWSER).text
    assert "PREFIX pk:" in page.split("<textarea", 1)[1]


def test_browser_query_shows_a_result_table(client: TestClient) -> None:
    response = client.post("/sparql", data={"query": SELECT}, headers=BROWSER)
    assert response.status_code == 200
    assert "<table>" in response.text
    assert "https://w3id.org/payerkg/payer/medicare" in response.text


def test_examples_are_the_compliance_questions() -> None:
    names = {example.name for example in example_queries()}
    assert names == {"rules-per-payer", "changes-between-dates", "codes-deleted-2025", "secondary-only-rules"}


@pytest.mark.parametrize("example", example_queries(), ids=lambda e: e.name)
def test_each_example_query_returns_rows_on_the_shipped_graph(client: TestClient, example: Any) -> None:
    response = client.post("/sparql", data={"query": example.text})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"]


def test_codes_deleted_in_2025_are_the_telephone_em_codes_and_g2012(client: TestClient) -> None:
    (example,) = [e for e in example_queries() if e.name == "codes-deleted-2025"]
    rows = client.post("/sparql", data={"query": example.text}).json()["results"]["bindings"]
    assert {row["notation"]["value"] for row in rows} >= {"99441", "99442", "99443"}
