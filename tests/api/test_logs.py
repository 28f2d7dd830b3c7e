"""No submitted value reaches a log: one access line per request (route template, status,
duration, role, request id), and a failure logged by type and place, never by message.

The requests are data (log-canaries.json): each carries a recognisable value somewhere a caller
can put one. In process every log record is captured; `payerkg serve` is run once as a child
process and its whole output is read, uvicorn's own lines included.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from payerkg.api import access_log
from payerkg.api.app import create_app
from payerkg.cli.main import command_line
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, KEYS, auth
from tests.service_process import ServiceProcess

DATA = json.loads((Path(__file__).parent / "log-canaries.json").read_text(encoding="utf-8"))
CANARY: str = DATA["canary"]
REQUESTS: list[dict[str, Any]] = DATA["requests"]
ACCESS_LINE = re.compile(r"^(GET|POST) (/\S*|-) (\d{3}) [\d.]+ms role=(\S+) id=([0-9a-f]{32})$")


def request_args(entry: dict[str, Any]) -> dict[str, Any]:
    """httpx arguments of an entry, with the canary put in."""
    headers = {k: v.replace("{canary}", CANARY) for k, v in entry.get("headers", {}).items()}
    args: dict[str, Any] = {
        "method": entry["method"],
        "url": entry["url"].replace("{canary}", CANARY),
        "headers": headers | auth(entry.get("caller", "anonymous")),
    }
    if "content" in entry:
        args["content"] = entry["content"].replace("{canary}", CANARY).encode()
    return args


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write for a record."""
    parts = [record.getMessage(), repr(record.args), str(record.exc_text or "")]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(api_keys=API_KEYS, anonymous_role="integrator"), store=MemoryStore())


CLIENT_LOGGERS = ("httpx", "httpcore")
"""The test client's own loggers (it logs the URLs it requests): not the service's."""


def service_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The service's log records so far (the test client logs the URLs it asks for itself)."""
    return [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]


@pytest.mark.parametrize("entry", REQUESTS, ids=[e["label"] for e in REQUESTS])
def test_no_submitted_value_is_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture, entry: dict[str, Any]
) -> None:
    caplog.set_level(logging.DEBUG)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.request(**request_args(entry))
    records = service_records(caplog)
    assert response.status_code < 500, response.text
    assert CANARY not in response.text
    leaked = [record.name for record in records if CANARY in record_text(record)]
    assert leaked == []
    access = [r for r in records if r.name == "payerkg.access"]
    assert len(access) == 1
    line = ACCESS_LINE.match(access[0].getMessage())
    assert line is not None, access[0].getMessage()
    method, route, status, role, request_id = line.groups()
    assert (method, int(status), request_id) == (
        entry["method"],
        response.status_code,
        response.headers["x-request-id"],
    )
    assert route == "-" or "{" in route or "?" not in route
    assert role in ("-", "anonymous", "invalid-key", entry.get("caller", "anonymous"))


def test_the_access_line_names_the_route_template_and_the_role(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = TestClient(app)
    client.get(f"/rules/{CANARY}", headers=auth("reader"))
    records = service_records(caplog)
    (line,) = [r.getMessage() for r in records if r.name == "payerkg.access"]
    assert " /rules/{rule_id} 404 " in line
    assert "role=reader" in line


def test_an_unexpected_failure_is_logged_without_its_message(
    app: FastAPI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise ValueError(f"input_value={CANARY}")

    monkeypatch.setattr("payerkg.api.catalog.catalog.summary", fail)
    caplog.set_level(logging.DEBUG)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/summary", headers=auth("reader"))
    records = service_records(caplog)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert CANARY not in response.text
    assert [r.name for r in records if CANARY in record_text(r)] == []
    (error,) = [r.getMessage() for r in records if r.name == "payerkg.errors"]
    assert "ValueError" in error and response.headers["x-request-id"] in error
    assert "in fail" in error  # where it failed is kept


def test_serve_replaces_uvicorn_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("payerkg.cli.workers.run_server", lambda application, **options: seen.update(options))
    monkeypatch.setattr("payerkg.api.app.create_app", lambda settings: FastAPI())
    result = CliRunner().invoke(command_line(["serve"]), ["serve", "--port", "8999"])
    assert result.exit_code == 0, result.output
    assert seen["access_log"] is False
    assert seen["log_config"] is access_log.LOG_CONFIG
    assert access_log.LOG_CONFIG["loggers"]["uvicorn.access"]["handlers"] == []


@pytest.mark.process
def test_a_served_process_logs_no_submitted_value(tmp_path: Path) -> None:
    env = {
        "PAYERKG_ANONYMOUS_ROLE": "integrator",
        "PAYERKG_STORE": "memory",
        "PAYERKG_API_KEYS": json.dumps(API_KEYS),
    }
    service = ServiceProcess(env=env, log=tmp_path / "service.log")
    service.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            for entry in REQUESTS:
                assert client.request(**request_args(entry)).status_code < 500, entry["label"]
    finally:
        service.stop()
    log = service.log.read_text(encoding="utf-8", errors="replace")
    assert CANARY not in log
    assert all(key not in log for key in KEYS.values())
    assert "GET /coverage 422 " in log  # the access lines are there, without query strings
