"""`payerkg store seed` on a remote store reports success only for what the server holds afterwards.

Regression: on Virtuoso 7.2, seeding printed "seeded revision 1" and exited 0 while nothing was
stored (the server answered 200 with an HTML page, and any 2xx was taken as success). Two stand-in
servers on loopback answer the way such servers do; then the real Virtuoso server, when installed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from payerkg.cli.main import command_line
from payerkg.editing import revisions
from payerkg.errors import StoreError
from payerkg.namespaces import FILE_GRAPH
from payerkg.stores.remote import RemoteStore
from tests.virtuoso_server import virtuoso_server

HTML = b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>"
REFUSAL = (
    b"Error SP031: SPARQL compiler: cannot compile this query\nSPARQL query: SELECT * WHERE { ?s ?p ?o }"
)
EMPTY_RESULTS = b'{"head": {"vars": ["g", "n"]}, "results": {"bindings": []}}'


@dataclass
class StandIn:
    """What a stand-in server answers: to queries (SELECT) and to updates; it stores nothing."""

    query_answer: tuple[str, bytes]
    update_answer: tuple[str, bytes] = ("text/html", HTML)
    status: int = 200
    url: str = ""
    updates: list[str] = field(default_factory=list)


def serve(stand_in: StandIn) -> Iterator[StandIn]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            form = parse_qs(body)
            if "update" in form:
                stand_in.updates.extend(form["update"])
                media, answer = stand_in.update_answer
            else:
                media, answer = stand_in.query_answer
            self.send_response(stand_in.status)
            self.send_header("content-type", media)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stand_in
    server.shutdown()
    server.server_close()


@pytest.fixture
def html_everywhere() -> Iterator[StandIn]:
    """A web server, not a SPARQL one: an HTML page with 200 for every request."""
    yield from serve(StandIn(("text/html", HTML)))


@pytest.fixture
def forgetful() -> Iterator[StandIn]:
    """Answers queries with valid, empty SPARQL results and updates with 200 and an HTML page,
    and keeps nothing: the silent loss as the store saw it."""
    yield from serve(StandIn(("application/sparql-results+json", EMPTY_RESULTS)))


@pytest.fixture
def refusing() -> Iterator[StandIn]:
    """Refuses every request with 400 and says why in plain text, as SPARQL servers do."""
    yield from serve(StandIn(("text/plain", REFUSAL), ("text/plain", REFUSAL), status=400))


def seed(url: str) -> tuple[int, str]:
    env = {"PAYERKG_STORE": "remote", "PAYERKG_STORE_QUERY_URL": url, "PAYERKG_STORE_UPDATE_URL": url}
    result = CliRunner().invoke(command_line(["store"]), ["store", "seed"], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def test_a_server_that_answers_html_is_named_and_nothing_is_reported_seeded(html_everywhere: StandIn) -> None:
    code, output = seed(html_everywhere.url)
    assert code == 2
    assert "text/html, not SPARQL JSON results" in output and "seeded" not in output


def test_a_server_that_accepts_the_load_and_keeps_nothing_fails_the_seed(forgetful: StandIn) -> None:
    code, output = seed(forgetful.url)
    assert code == 2, output
    assert "accepted the load but graph" in output and "holds 0 statements" in output
    assert "seeded revision" not in output
    assert forgetful.updates and forgetful.updates[0].startswith("INSERT {")
    assert forgetful.updates[-1].startswith("DROP SILENT GRAPH")  # what it may have added is removed


def test_a_refusal_passes_on_the_servers_own_words(refusing: StandIn) -> None:
    code, output = seed(refusing.url)
    assert code == 2, output
    assert "answered 400: Error SP031: SPARQL compiler: cannot compile this query" in output
    assert "SPARQL query" not in output  # the lines after the first may repeat bound values


@pytest.mark.process
@pytest.mark.virtuoso
def test_seed_on_virtuoso_stores_and_verifies_every_statement(tmp_path: Path) -> None:
    with virtuoso_server(tmp_path / "virtuoso") as server:
        code, output = seed(server.query_url)
        assert code == 0, output
        assert "seeded revision 1" in output
        store = RemoteStore(server.query_url, server.update_url)
        try:
            assert revisions.verify(store) == []
            code, output = seed(server.query_url)
            assert code == 2 and "already holds revisions" in output
        finally:
            store.close()


@pytest.mark.process
@pytest.mark.virtuoso
def test_a_result_cut_by_the_servers_row_limit_is_an_error_not_a_short_graph(tmp_path: Path) -> None:
    """Virtuoso cuts results at ResultSetMaxRows (10,000 by default) and says so only in a header;
    the largest shipped file has 1,880 statements."""
    with virtuoso_server(tmp_path / "virtuoso", max_rows=1_000) as server:
        code, output = seed(server.query_url)
        assert code == 0, output
        store = RemoteStore(server.query_url, server.update_url)
        try:
            with pytest.raises(StoreError, match="row limit"):
                store.snapshot()
            with pytest.raises(StoreError, match="row limit"):
                store.graph(FILE_GRAPH["policies/codes/codes.ttl"])
        finally:
            store.close()
