"""A canary HTTP server on loopback for the tests that prove nothing is ever fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class CanaryServer:
    url: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def canary_server() -> Iterator[CanaryServer]:
    """Answers every GET or POST like a JSON-LD context, a Turtle file or an endpoint would
    (plausibly enough to be used if fetched) and records that it was asked."""
    server_record = CanaryServer("")

    class Canary(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer()

        def do_POST(self) -> None:
            self.answer()

        def answer(self) -> None:
            server_record.hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/turtle")
            self.end_headers()
            self.wfile.write(b"<urn:canary> <urn:canary> <urn:canary> .\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    server_record.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server_record
    server.shutdown()
