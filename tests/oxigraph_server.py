"""A real Oxigraph SPARQL server for the tests of the remote store backend.

The ``oxigraph`` package (a dev dependency) installs the server binary next to the Python
interpreter. The server is started on a free loopback port with its data in a folder and with
the union of its named graphs as the default graph, as payerkg's queries require.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.http import HTTP

BINARY = Path(sys.executable).parent / "oxigraph"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class OxigraphServer:
    """The SPARQL 1.1 endpoints of a running server."""

    base_url: str

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/query"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/update"

    @property
    def store_url(self) -> str:
        return f"{self.base_url}/store"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def oxigraph_server(location: Path) -> Iterator[OxigraphServer]:
    """Run ``oxigraph serve`` with its data in ``location`` until the block ends, then stop it."""
    if not BINARY.is_file():
        raise RuntimeError(f"no oxigraph server at {BINARY}: install the dev extras (.[dev])")
    port = free_port()
    command = [str(BINARY), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    log_path = location.parent / f"{location.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([*command, "--union-default-graph"], stdout=log, stderr=subprocess.STDOUT)
    try:
        server = OxigraphServer(f"http://127.0.0.1:{port}")
        _wait_until_answering(server, process, log_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server: OxigraphServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the oxigraph server exited with {process.returncode} before answering: {log.read_text()}"
            )
        try:
            response = HTTP.post(server.query_url, data={"query": "ASK {}"}, timeout=1.0)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the oxigraph server did not answer within {START_TIMEOUT_S} s")
