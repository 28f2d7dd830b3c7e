"""`payerkg serve --workers N`: several processes on one port where that serves one graph, and a
clear refusal (exit 2) where it would not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli.runner import run_cli
from tests.oxigraph_server import free_port
from tests.service_process import ServiceProcess
from tests.support.http import HTTP

QUESTION = {"payer": "medicare", "code": "99213", "date": "2025-06-01"}


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({}, ["--workers", "2"], "set PAYERKG_EDITING=false"),
        ({"PAYERKG_WORKERS": "3"}, [], "3 workers share nothing but the store"),
        (
            {"PAYERKG_EDITING": "false", "PAYERKG_STORE": "oxigraph", "PAYERKG_STORE_PATH": "store"},
            ["--workers", "2"],
            "opens in one process only",
        ),
        ({}, ["--workers", "0"], "PAYERKG_WORKERS: at least 1 expected"),
        ({"PAYERKG_WORKERS": "two"}, [], "PAYERKG_WORKERS: an integer expected"),
    ],
)
def test_workers_that_would_not_serve_one_graph_are_refused(
    env: dict[str, str], args: list[str], says: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ran = run_cli("serve", "--port", "1", *args)
    assert ran.returncode == 2
    assert says in ran.stderr
    assert not (tmp_path / "store").exists()  # refused before anything was opened


def test_the_workers_option_wins_over_the_environment_even_at_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker asked for on the command line over PAYERKG_WORKERS=3: not refused as several
    workers; it goes on to open the (here unreachable) store, which fails with exit 2."""
    monkeypatch.setenv("PAYERKG_WORKERS", "3")
    monkeypatch.setenv("PAYERKG_STORE", "remote")
    monkeypatch.setenv("PAYERKG_STORE_QUERY_URL", f"http://127.0.0.1:{free_port()}/query")
    monkeypatch.setenv("PAYERKG_STORE_UPDATE_URL", f"http://127.0.0.1:{free_port()}/update")
    ran = run_cli("serve", "--port", "1", "--workers", "1")
    assert ran.returncode == 2
    assert "workers" not in ran.stderr
    assert ran.stderr.startswith("payerkg: ")


@pytest.mark.process
def test_two_read_only_workers_both_answer_from_one_graph(tmp_path: Path) -> None:
    service = ServiceProcess(
        env={"PAYERKG_WORKERS": "2", "PAYERKG_EDITING": "false", "PAYERKG_ANONYMOUS_ROLE": "integrator"},
        log=tmp_path / "service.log",
    )
    service.start()
    try:
        since = service.log_size()
        answers: list[dict[str, object]] = []
        deadline = time.monotonic() + 30  # the second worker may still be loading the graph
        while len(service.answered_by(since)) < 2:
            assert time.monotonic() < deadline, "only one worker answered"
            with ThreadPoolExecutor(4) as pool:  # a new connection each (4: the anonymous cap)
                answers += pool.map(lambda _: ask(service), range(16))
        assert len({json.dumps(answer, sort_keys=True) for answer in answers}) == 1
        health = HTTP.get(f"{service.url}/health", timeout=10).json()
        assert health["store"] == "memory" and health["revision_number"] == 1
    finally:
        service.stop()


@pytest.mark.process
def test_connections_opened_at_once_are_spread_over_the_workers(tmp_path: Path) -> None:
    """Each worker accepts on a listening socket of its own (cli/workers.py): 32 connections
    opened together, as a client opens its pool, do not all land on the worker that wakes first."""
    service = ServiceProcess(env={"PAYERKG_WORKERS": "2", "PAYERKG_EDITING": "false"}, log=tmp_path / "log")
    service.start()
    try:
        deadline = time.monotonic() + 60
        while listening_sockets(service.port) < 2:  # the second worker may still be loading the graph
            assert time.monotonic() < deadline, "the workers do not listen on sockets of their own"
            time.sleep(0.2)
        since = service.log_size()
        connections = [socket.create_connection(("127.0.0.1", service.port), timeout=30) for _ in range(32)]
        for connection in connections:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for connection in connections:
            with connection:
                assert read_to_end(connection).startswith(b"HTTP/1.1 200")
        answers = service.answered_by(since)
        # Spread by a hash of each connection's ports: fewer than 4 of 32 on one of two workers has
        # a chance of 3 in a million; a shared socket gave one worker 30 or more in 6 of 24 tries.
        assert len(answers) == 2 and min(answers.values()) >= 4, answers
    finally:
        service.stop()


@pytest.mark.process
def test_workers_do_not_join_another_service_listening_on_the_port() -> None:
    """A socket with SO_REUSEPORT listening there, as another `serve --workers N` would have: the
    workers must not share its port, so the service stops before starting any worker."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        ran = subprocess.run(
            [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(port), "--workers", "2"],
            env=os.environ | {"PAYERKG_EDITING": "false"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert ran.returncode != 0
    assert "Address already in use" in ran.stderr
    assert "Started parent process" not in ran.stderr


def read_to_end(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def listening_sockets(port: int) -> int:
    """How many sockets listen on ``port`` of 127.0.0.1 (from /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")


def ask(service: ServiceProcess) -> dict[str, object]:
    response = HTTP.get(f"{service.url}/coverage", params=QUESTION, timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.process
def test_a_worker_that_cannot_load_the_graph_stops_the_service_with_its_reason() -> None:
    env = {"PAYERKG_WORKERS": "2", "PAYERKG_EDITING": "false", "PAYERKG_MEMORY_MAX_STATEMENTS": "10"}
    ran = subprocess.run(
        [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(free_port())],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "the service cannot start: the graph files hold more than 10 statements" in ran.stderr
    assert "Traceback" not in ran.stderr  # stopped, not restarted for ever
    # uvicorn's parent returns as after a shutdown; the command still says why and fails.
    assert ran.returncode == 2, ran.stderr
    assert "a worker could not start, so the service stopped: the graph files hold more" in ran.stderr


@pytest.mark.process
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_stopped_service_leaves_no_temporary_files(tmp_path: Path, workers: str) -> None:
    """Stopped as a service manager stops it (SIGTERM): one process left an empty folder behind
    each time (uvicorn raises the signal again after its shutdown, so no clean-up ran)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {"PAYERKG_WORKERS": workers, "PAYERKG_EDITING": "false", "TMPDIR": str(temporary)}
    service = ServiceProcess(env=env, log=tmp_path / "service.log")
    service.start()
    service.stop()
    assert service.process is not None and service.process.returncode is not None
    assert list(temporary.iterdir()) == []
