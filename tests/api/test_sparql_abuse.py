"""Hostile SPARQL: every query is cut with a named error within T + 1 s, and nothing else happens.

Real app, real shipped graph, T = 2 s. A canary HTTP server on loopback stands behind every
SERVICE, FROM, LOAD and dataset parameter; it must see no request. After each case the store is
unchanged (the same statements in the same graphs) and no query worker process is left.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from rdflib.term import Node

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.settings import Settings
from tests.api.conftest import CanaryServer
from tests.editing.keys import API_KEYS, auth

T = 2.0
R = 10_000


@pytest.fixture(scope="module")
def canary(canary_server: CanaryServer) -> str:
    return canary_server.url


@pytest.fixture(scope="module")
def served() -> PolicyGraph:
    return load_dataset()


@pytest.fixture(scope="module")
def baseline(served: PolicyGraph) -> Contents:
    """The store's statements before any hostile request."""
    return contents(served)


@pytest.fixture(scope="module")
def client(served: PolicyGraph, baseline: Contents) -> Iterator[TestClient]:
    settings = Settings(anonymous_role="reader", sparql_timeout_s=T, sparql_max_rows=R, api_keys=API_KEYS)
    with TestClient(create_app(settings, policy=served), raise_server_exceptions=False) as client:
        yield client


Contents = frozenset[tuple[Node, Node, Node, Node | None]]


def contents(policy: PolicyGraph) -> Contents:
    """Every statement of the store with its graph, compared as terms (a third of the time of
    hashing their sorted text, which ran twice per hostile request)."""
    return frozenset(policy.dataset.quads())


def child_pids() -> set[int]:
    """Live or unreaped children of this process, from /proc where it tells (Linux)."""
    pids: set[int] = set()
    tasks = Path(f"/proc/{os.getpid()}/task")
    for task in tasks.iterdir() if tasks.is_dir() else []:
        try:
            pids.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


RUNAWAY = "?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o"
CUT = {"query_timeout", "result_too_large"}


def hostile(canary: str) -> list[tuple[str, dict[str, Any], int, set[str], str | None]]:
    """(case, request, status, accepted codes, feature named) for every hostile request."""

    def get(query: str, **extra: str) -> dict[str, Any]:
        params = {"query": query, **extra}
        return {"method": "GET", "url": "/sparql?" + "&".join(f"{k}={quote(v)}" for k, v in params.items())}

    def update(text: str) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": "/sparql",
            "content": text,
            "headers": {"content-type": "application/sparql-update"},
        }

    def update_form(text: str) -> dict[str, Any]:
        return {"method": "POST", "url": "/sparql", "data": {"update": text}}

    updates = {
        "insert-data": ("INSERT DATA { <urn:x> <urn:y> <urn:z> }", "INSERT DATA"),
        "delete-where": ("DELETE WHERE { ?s ?p ?o }", "DELETE WHERE"),
        "modify": ("DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", "DELETE/INSERT"),
        "load": (f"LOAD <{canary}/data.ttl>", "LOAD"),
        "load-into": (f"LOAD SILENT <{canary}/data.ttl> INTO GRAPH <urn:g>", "LOAD"),
        "clear": ("CLEAR ALL", "CLEAR"),
        "drop": ("DROP ALL", "DROP"),
        "drop-default": ("DROP DEFAULT", "DROP"),
        "create": ("CREATE GRAPH <urn:g>", "CREATE"),
        "copy": ("COPY DEFAULT TO <urn:g>", "COPY"),
    }
    cases: list[tuple[str, dict[str, Any], int, set[str], str | None]] = [
        ("cartesian-5", get(f"SELECT * {{ {RUNAWAY} }}"), 422, {"result_too_large"}, None),
        ("cartesian-count", get(f"SELECT (COUNT(*) AS ?n) {{ {RUNAWAY} }}"), 503, {"query_timeout"}, None),
        (
            "cartesian-ask-never-true",
            # A filter on every pattern's variable: no engine can test it before the whole product
            # (Oxigraph answers a filter on ?a alone at once, by testing it on the first pattern).
            get(f'ASK {{ {RUNAWAY} FILTER (CONCAT(STR(?a), STR(?f), STR(?i), STR(?l), STR(?o)) = "none") }}'),
            503,
            {"query_timeout"},
            None,
        ),
        ("cartesian-order-by", get("SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c"), 0, CUT, None),
        ("cartesian-distinct", get("SELECT DISTINCT ?a ?f { ?a ?b ?c . ?d ?e ?f }"), 0, CUT, None),
        ("cartesian-construct", get("CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }"), 0, CUT, None),
        ("cartesian-describe", get("DESCRIBE ?a ?f WHERE { ?a ?b ?c . ?d ?e ?f }"), 0, CUT, None),
        ("cyclic-path", get("SELECT * { ?a (rdf:type|^rdf:type)* ?b }"), 0, CUT, None),
        (
            "cyclic-path-count",
            get(
                "SELECT (COUNT(*) AS ?n) "
                "{ ?a (pk:appliesTo|^pk:appliesTo|skos:member|^skos:member)* ?b . ?c ?d ?e }"
            ),
            503,
            {"query_timeout"},
            None,
        ),
        (
            "cyclic-path-any",
            get("SELECT (COUNT(*) AS ?n) { ?a (<urn:p>|!<urn:p>|^!<urn:p>)* ?b }"),
            0,
            CUT,
            None,
        ),
        (
            "million-rows",
            get("SELECT ?s ?o { ?s ?p ?x . ?y ?q ?o } LIMIT 1000000"),
            422,
            {"result_too_large"},
            None,
        ),
        (
            "one-row-too-many",
            get(f"SELECT * {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {R + 1}"),
            422,
            {"result_too_large"},
            None,
        ),
        (
            "service",
            get(f"SELECT * {{ SERVICE <{canary}/sparql> {{ ?s ?p ?o }} }}"),
            400,
            {"forbidden_feature"},
            "SERVICE",
        ),
        (
            "service-silent",
            get(f"SELECT * {{ SERVICE SILENT <{canary}/sparql> {{ ?s ?p ?o }} }}"),
            400,
            {"forbidden_feature"},
            "SERVICE",
        ),
        (
            "service-in-exists",
            get(f"ASK {{ FILTER EXISTS {{ SERVICE <{canary}/q> {{ ?s ?p ?o }} }} }}"),
            400,
            {"forbidden_feature"},
            "SERVICE",
        ),
        (
            "service-in-optional-subquery",
            get(f"SELECT * {{ OPTIONAL {{ SELECT * {{ SERVICE <{canary}/q> {{ ?s ?p ?o }} }} }} }}"),
            400,
            {"forbidden_feature"},
            "SERVICE",
        ),
        (
            "service-variable",
            get(f"SELECT * {{ BIND (<{canary}/q> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}"),
            400,
            {"forbidden_feature"},
            "SERVICE",
        ),
        (
            "from",
            get(f"SELECT * FROM <{canary}/data.ttl> {{ ?s ?p ?o }}"),
            400,
            {"forbidden_feature"},
            "FROM",
        ),
        (
            "from-named",
            get(f"SELECT * FROM NAMED <{canary}/data.ttl> {{ GRAPH ?g {{ ?s ?p ?o }} }}"),
            400,
            {"forbidden_feature"},
            "FROM NAMED",
        ),
        (
            "construct-from",
            get(f"CONSTRUCT {{ ?s ?p ?o }} FROM <{canary}/d.ttl> WHERE {{ ?s ?p ?o }}"),
            400,
            {"forbidden_feature"},
            "FROM",
        ),
        (
            "default-graph-uri",
            get("ASK {}", **{"default-graph-uri": f"{canary}/data.ttl"}),
            400,
            {"forbidden_feature"},
            "default-graph-uri",
        ),
        (
            "named-graph-uri",
            get("ASK {}", **{"named-graph-uri": f"{canary}/data.ttl"}),
            400,
            {"forbidden_feature"},
            "named-graph-uri",
        ),
    ]
    for name, (text, feature) in updates.items():
        cases.append((f"{name}-as-query", get(text), 400, {"forbidden_feature"}, feature))
        cases.append((f"{name}-sparql-update", update(text), 400, {"forbidden_feature"}, "update"))
        cases.append((f"{name}-update-form", update_form(text), 400, {"forbidden_feature"}, "update"))
    return cases


CASE_NAMES = [case[0] for case in hostile("http://127.0.0.1:9")]
SLOWEST: dict[str, float] = {}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_query_is_cut_with_a_named_error(
    client: TestClient, served: PolicyGraph, canary: str, canary_server: CanaryServer, name: str
) -> None:
    (case,) = [case for case in hostile(canary) if case[0] == name]
    _, request, status, codes, feature = case
    before = contents(served)
    children_before = child_pids()  # servers other tests of this worker started may run on
    started = time.monotonic()
    response = client.request(**request)
    elapsed = time.monotonic() - started
    SLOWEST[name] = elapsed

    assert elapsed <= T + 1, f"{name} took {elapsed:.2f} s"
    assert response.status_code != 200, f"{name} got a 200: a silent answer"
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] in codes, problem
    if status:
        assert response.status_code == status
    if feature:
        assert problem["pointer"] == feature
    assert canary not in response.text and "?a ?b ?c" not in response.text  # no echo of the query
    assert canary_server.hits == []
    assert contents(served) == before
    assert multiprocessing.active_children() == []
    assert child_pids() <= children_before  # no query worker left behind


def test_a_result_exactly_at_the_limit_is_answered_whole(client: TestClient) -> None:
    response = client.get(
        "/sparql",
        params={"query": f"SELECT * {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {R}"},
        headers={"accept": "text/tab-separated-values"},
    )
    assert response.status_code == 200
    assert len(response.text.splitlines()) == R + 1  # header and R rows


def test_other_requests_are_answered_while_runaway_queries_run(served: PolicyGraph) -> None:
    """Health checks and another caller's small queries are answered while two runaway queries
    hold query workers, each before the runaway ones are stopped at their time limit. The limit
    is long enough for a busy machine; a bound on each request's time was not (1.3 s once)."""
    limit = 6.0
    settings = Settings(anonymous_role="reader", sparql_timeout_s=limit, sparql_max_rows=R, api_keys=API_KEYS)
    runaway = f"SELECT (COUNT(*) AS ?n) {{ {RUNAWAY} }}"
    answers: list[int] = []
    with TestClient(create_app(settings, policy=served), raise_server_exceptions=False) as client:

        def run() -> None:
            answers.append(client.get("/sparql", params={"query": runaway}).status_code)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        for _ in range(3):
            assert client.get("/health").status_code == 200
            # another caller: the runaway queries hold their caller's share of the workers (api/limits.py)
            other = client.get("/sparql", params={"query": "ASK { ?s a pk:Payer }"}, headers=auth("reader"))
            assert other.json()["boolean"] is True
            assert answers == [], "a small request was answered only after the runaway queries stopped"
        for thread in threads:
            thread.join(limit + 2)
    assert answers == [503, 503]
    assert multiprocessing.active_children() == []


def test_a_query_past_its_memory_budget_is_cut(served: PolicyGraph) -> None:
    settings = Settings(anonymous_role="reader", sparql_timeout_s=T, sparql_max_memory_mb=64)
    client = TestClient(create_app(settings, policy=served), raise_server_exceptions=False)
    started = time.monotonic()
    response = client.get("/sparql", params={"query": "SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c"})
    assert time.monotonic() - started <= T + 1
    assert response.status_code in (422, 503)
    assert response.json()["code"] in CUT
    assert multiprocessing.active_children() == []


def test_the_canary_was_never_asked_and_the_store_never_changed(
    served: PolicyGraph, baseline: Contents, canary_server: CanaryServer
) -> None:
    assert canary_server.hits == []
    assert contents(served) == baseline
    assert len(served.dataset) == len(load_dataset().dataset)
