"""A real Virtuoso server (Debian's virtuoso-opensource-7-bin, `make virtuoso`) for the tests that
run the remote store on a second SPARQL server besides Oxigraph.

Each server gets a new database in a folder, loopback ports only, and the one grant a SPARQL
update over HTTP needs (``SPARQL_UPDATE`` to the anonymous ``SPARQL`` user). Virtuoso reads every
graph when a query names none, as payerkg's queries require. Without the package, the tests that
need it are skipped with a message saying how to install it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.oxigraph_server import free_port
from tests.support.http import HTTP

SERVER = "virtuoso-t"
CLIENT = "isql-vt"
START_TIMEOUT_S = 90.0
INSTALL = "install it with `make virtuoso` (Debian's virtuoso-opensource-7-bin)"
CONFIG = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
CheckpointInterval = 60
DirsAllowed = {folder}
ThreadCleanupInterval = 0
ResourcesCleanupInterval = 0

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = 4
MaxClientConnections = 4
MaxKeepAlives = 4
KeepAliveTimeout = 10

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""
GRANT = 'GRANT SPARQL_UPDATE TO "SPARQL";'


@dataclass(frozen=True)
class VirtuosoServer:
    """The SPARQL endpoint of a running server: queries and updates both go to ``/sparql``."""

    base_url: str

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/sparql"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/sparql"


def require_virtuoso() -> None:
    """Skip the calling test, with a message, when the package is not installed."""
    if shutil.which(SERVER) is None or shutil.which(CLIENT) is None:
        pytest.skip(f"no Virtuoso server ({SERVER}): {INSTALL}")


@contextmanager
def virtuoso_server(folder: Path, max_rows: int = 100_000) -> Iterator[VirtuosoServer]:
    """Run Virtuoso with a new database in ``folder`` until the block ends, then stop it."""
    require_virtuoso()
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    config = folder / "virtuoso.ini"
    config.write_text(
        CONFIG.format(folder=folder, sql_port=sql_port, http_port=http_port, max_rows=max_rows),
        encoding="utf-8",
    )
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [SERVER, "+foreground", "+configfile", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        server = VirtuosoServer(f"http://127.0.0.1:{http_port}")
        _wait_until_answering(server, process, folder)
        grant = subprocess.run(
            [CLIENT, str(sql_port), "dba", "dba", f"exec={GRANT}"], capture_output=True, timeout=60
        )
        if grant.returncode != 0:
            raise RuntimeError(f"granting SPARQL updates failed: {grant.stdout!r} {grant.stderr!r}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server: VirtuosoServer, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "server.log").read_text(errors="replace")
            raise RuntimeError(f"virtuoso exited with {process.returncode} before answering: {log[-2000:]}")
        try:
            response = HTTP.post(
                server.query_url,
                data={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"},
                headers={"accept": "application/sparql-results+json"},
                timeout=2.0,
            )
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"virtuoso did not answer within {START_TIMEOUT_S:g} s")
