"""Limits per caller (api/limits.py), with real concurrency: runaway SPARQL queries and requests
held open on threads, while other callers ask. A caller past its share gets 429 with Retry-After;
when every query worker is taken a query gets 503 busy with Retry-After at once, not after its
deadline; other callers stay answered meanwhile. The last test does the same on `payerkg serve`."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.settings import Settings
from tests.editing.keys import API_KEYS, KEYS, auth
from tests.service_process import ServiceProcess
from tests.support.http import HTTP

T = 2.0
T_SERVED = 6.0
"""The real server's query time limit: long enough that its runaway queries have surely taken
their workers (SETTLE_SERVED_S) on a loaded machine before the other callers ask."""
SETTLE_SERVED_S = 2.5
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
SMALL = "ASK { ?s a pk:Payer }"
ANSWERED_LATE = "a small request was answered only after the runaway queries were stopped"
"""What the tests check instead of a bound on each request's time: that it came back while the
runaway queries still held their workers (a bound failed now and then on a busy machine)."""


@pytest.fixture(scope="module")
def served() -> PolicyGraph:
    return load_dataset()


@contextmanager
def running(
    calls: Sequence[Callable[[], object]], started: Callable[[], bool] | float
) -> Iterator[list[object]]:
    """Start each call on its own thread, wait until they have ``started`` (a condition polled, or
    a settling time for a server in another process), run the block, then join them."""
    results: list[object] = []
    threads = [threading.Thread(target=lambda c=call: results.append(c())) for call in calls]
    for thread in threads:
        thread.start()
    if callable(started):
        give_up = time.monotonic() + T  # before the calls' own deadline
        while not started() and time.monotonic() < give_up:
            time.sleep(0.01)
        assert started(), "the held calls did not start in time"
    else:
        time.sleep(started)
    try:
        yield results
    finally:
        for thread in threads:
            thread.join(T_SERVED + 5)


def workers_held(client: TestClient, count: int) -> Callable[[], bool]:
    """True once ``count`` SPARQL query workers of the client's app are taken."""
    app = client.app
    assert isinstance(app, FastAPI)
    return lambda: (
        getattr(app.state, "query_workers", None) is not None and (app.state.query_workers.in_use >= count)
    )


def retry_after(response: httpx.Response) -> int:
    return int(response.headers["retry-after"])


def test_a_caller_past_its_share_of_query_workers_gets_429_and_others_are_answered(
    served: PolicyGraph,
) -> None:
    settings = Settings(
        api_keys=API_KEYS, sparql_timeout_s=T, sparql_max_concurrent=4, sparql_max_per_caller=2
    )
    with TestClient(create_app(settings, policy=served), raise_server_exceptions=False) as client:
        runaway = [
            lambda: client.get("/sparql", params={"query": RUNAWAY}, headers=auth("reader")).status_code
        ] * 2
        with running(runaway, workers_held(client, 2)) as statuses:
            third = client.get("/sparql", params={"query": SMALL}, headers=auth("reader"))
            assert third.status_code == 429 and third.json()["code"] == "too_many_requests"
            assert 1 <= retry_after(third) <= T
            other = client.get("/sparql", params={"query": SMALL}, headers=auth("integrator"))
            assert other.json()["boolean"] is True
            assert statuses == [], ANSWERED_LATE
    assert statuses == [503, 503]  # the runaway queries themselves are cut at T
    assert multiprocessing.active_children() == []


def test_when_every_worker_is_taken_a_query_gets_503_with_retry_after_at_once(served: PolicyGraph) -> None:
    settings = Settings(
        api_keys=API_KEYS,
        sparql_timeout_s=T,
        sparql_max_concurrent=2,
        sparql_max_per_caller=1,
        sparql_queue_wait_s=0.2,
    )
    with TestClient(create_app(settings, policy=served), raise_server_exceptions=False) as client:
        runaway = [
            lambda role=role: client.get("/sparql", params={"query": RUNAWAY}, headers=auth(role)).json()[
                "code"
            ]
            for role in ("reader", "integrator")
        ]
        with running(runaway, workers_held(client, 2)) as codes:
            busy = client.get("/sparql", params={"query": SMALL}, headers=auth("editor"))
            assert busy.status_code == 503 and busy.json()["code"] == "busy"
            assert 1 <= retry_after(busy) <= T
            assert client.get("/health").status_code == 200
            assert codes == [], ANSWERED_LATE  # at once (after the short wait), not at the queries' deadline
    assert codes == ["query_timeout", "query_timeout"]
    # once the runaway queries are stopped, the same caller is answered
    answered = client.get("/sparql", params={"query": SMALL}, headers=auth("editor"))
    assert answered.json()["boolean"] is True


def test_requests_in_flight_are_capped_per_caller(served: PolicyGraph) -> None:
    settings = Settings(
        api_keys=API_KEYS,
        anonymous_role="reader",
        sparql_timeout_s=T,
        max_concurrent_anonymous=2,
        max_concurrent_per_caller=2,
    )
    with TestClient(create_app(settings, policy=served), raise_server_exceptions=False) as client:
        held = [lambda: client.get("/sparql", params={"query": RUNAWAY}).status_code] * 2
        with running(held, workers_held(client, 2)):
            refused = client.get("/payers")
            assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
            assert retry_after(refused) >= 1
            assert client.get("/health").status_code == 200  # liveness is never refused
            assert client.get("/payers", headers=auth("reader")).status_code == 200  # another caller
        assert client.get("/payers").status_code == 200  # free again once they ended


def test_anonymous_batches_are_smaller_than_keyed_ones(served: PolicyGraph) -> None:
    settings = Settings(api_keys=API_KEYS, anonymous_role="integrator", anonymous_max_batch_bytes=1024)
    client = TestClient(create_app(settings, policy=served), raise_server_exceptions=False)
    body = client.get("/encounter/example.json").content.replace(b"\n", b"") + b"\n"
    batch = body * (2048 // len(body) + 1)
    headers = {"content-type": "application/x-ndjson"}
    refused = client.post("/validate/batch", content=batch, headers=headers)
    assert refused.status_code == 413 and refused.json()["code"] == "too_large"
    accepted = client.post("/validate/batch", content=batch, headers=headers | auth("integrator"))
    assert accepted.status_code == 200 and len(accepted.text.splitlines()) == batch.count(b"\n")
    assert Settings().anonymous_max_batch_bytes < Settings().max_batch_bytes


@pytest.mark.process
def test_limits_hold_on_a_real_server(tmp_path: Path) -> None:
    """Four runaway queries from one caller and more from others against `payerkg serve`."""
    service = ServiceProcess(
        {
            "PAYERKG_API_KEYS": json.dumps(API_KEYS),
            "PAYERKG_ANONYMOUS_ROLE": "reader",
            "PAYERKG_SPARQL_TIMEOUT_S": str(T_SERVED),
            "PAYERKG_SPARQL_MAX_CONCURRENT": "3",
            "PAYERKG_SPARQL_MAX_PER_CALLER": "2",
            "PAYERKG_SPARQL_QUEUE_WAIT_S": "0.2",
        },
        tmp_path / "service.log",
    )
    service.start()
    try:

        def ask(role: str, query: str) -> httpx.Response:
            headers = {"authorization": f"Bearer {KEYS[role]}"} if role in KEYS else {}
            return HTTP.get(f"{service.url}/sparql", params={"query": query}, headers=headers, timeout=T + 10)

        with running(
            [lambda: ask("reader", RUNAWAY).status_code] * 2 + [lambda: ask("editor", RUNAWAY).status_code],
            SETTLE_SERVED_S,
        ) as held:
            over_share = ask("reader", SMALL)
            busy = ask("admin", SMALL)
            health = HTTP.get(f"{service.url}/health", timeout=5)
            assert held == [], ANSWERED_LATE
        assert over_share.status_code == 429 and retry_after(over_share) >= 1
        assert busy.status_code == 503 and busy.json()["code"] == "busy" and retry_after(busy) >= 1
        assert health.status_code == 200
        assert ask("admin", SMALL).json()["boolean"] is True
    finally:
        service.stop()
