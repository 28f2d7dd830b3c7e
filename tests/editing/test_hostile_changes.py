"""Mis-shaped rule changes (tests/editing/hostile-changes.json) get a 4xx problem naming the field,
never a 500: no value is echoed or logged, and nothing is stored."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, auth

HERE = Path(__file__).parent
CORPUS = json.loads((HERE / "hostile-changes.json").read_text(encoding="utf-8"))
SECRET: str = CORPUS["secret"]
CASES: list[dict[str, Any]] = CORPUS["cases"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(Settings(api_keys=API_KEYS), store=MemoryStore())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _expand(value: Any) -> Any:
    if value == "@secret":
        return SECRET
    if value == "@long-secret":
        return SECRET * 100
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def _rule(case: dict[str, Any]) -> str:
    text = (HERE / str(case.pop("rule_file"))).read_text(encoding="utf-8")
    old, new = case.pop("replace", ["", ""])
    assert old in text, f"{old!r} is not in the rule file"
    return text.replace(str(old), str(new))


def _deep(levels: int, inside: str | None = None) -> str:
    if inside is None:
        return "[" * levels + "]" * levels
    nested = '{"a":' * levels + "1" + "}" * levels
    return json.dumps({"rule": "", inside: "@"}).replace(
        '"@"', f"[{nested}]" if inside == "encounters" else nested
    )


def _request(case: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the client's post for one case."""
    case = _expand(case)
    headers = auth("editor")
    if "deep" in case:
        body = _deep(**case["deep"])
        return {"content": body, "headers": headers | {"content-type": "application/json"}}
    if "text" in case:
        return {"content": case["text"], "headers": headers | {"content-type": case["content_type"]}}
    if "json" in case:
        document = case["json"]
        if isinstance(document, dict) and "rule_file" in document:
            document["rule"] = _rule(document)
        return {"content": json.dumps(document), "headers": headers | {"content-type": "application/json"}}
    return {
        "content": _rule(case).encode(),
        "params": case.get("params", {}),
        "headers": headers | {"content-type": "text/turtle"},
    }


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_change_is_a_problem_naming_the_field(
    client: TestClient, case: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.post(case["route"], **_request(dict(case)))
    assert response.status_code == case["status"], response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["code"], problem.get("pointer")) == (case["code"], case["pointer"])
    assert SECRET not in response.text
    # httpx logs the test client's own request line; the service's records are what matter.
    service = [r for r in caplog.records if not r.name.startswith("httpx")]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in service)
    assert SECRET not in logged and "input_value" not in logged
    assert "Traceback" not in logged


def test_hostile_changes_store_nothing(client: TestClient) -> None:
    for case in CASES:
        client.post(case["route"], **_request(dict(case)))
    revisions = client.get("/revisions", headers=auth("reader"))
    assert [r["number"] for r in revisions.json()] == [1]


def test_the_corpus_rule_is_accepted_without_the_hostile_part() -> None:
    """The NUL cases are refused for the NUL alone: the same rule without it is accepted."""
    app = create_app(Settings(api_keys=API_KEYS), store=MemoryStore())
    with TestClient(app, raise_server_exceptions=False) as fresh:
        body = (HERE / "add-uhc-rpm-2027.ttl").read_bytes()
        params = {"base_revision": "1", "reason": "test: hostile"}
        response = fresh.post(
            "/rules", content=body, params=params, headers=auth("editor") | {"content-type": "text/turtle"}
        )
    assert response.status_code == 201, response.text
