"""Requests are taken as written or refused: unknown and repeated query parameters, duplicate
JSON keys and unsupported methods get a problem naming what is wrong, on every route of the app.

The routes come from the app's OpenAPI document, so a new route is covered without listing it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.api.query_params import check_query_parameters
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.api.test_access_matrix import PATH_VALUES
from tests.editing.keys import API_KEYS, auth

METHODS = ("put", "patch", "delete")  # no route takes them, so each path answers 405


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(api_keys=API_KEYS), store=MemoryStore())


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


def concrete(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return path


def test_every_route_refuses_an_unknown_query_parameter(app: FastAPI, client: TestClient) -> None:
    wrong = []
    for method, path, _ in operations(app):
        response = client.request(method, concrete(path) + "?patient_name=Jane%20Doe", headers=auth("admin"))
        body = response.json() if response.status_code == 422 else {}
        if body.get("pointer") != "patient_name" or "Jane" in response.text:
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert wrong == []


def test_every_route_checks_its_query_parameters_pages_included(app: FastAPI) -> None:
    """Routers hand their routes to the app as built (api/routers.py), so each carries the check
    itself; the pages are not in the OpenAPI document the test above walks."""
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    unchecked = [
        route.path
        for route in routes
        if check_query_parameters not in [dependency.call for dependency in route.dependant.dependencies]
    ]
    assert len(routes) > 40 and unchecked == []


def test_every_declared_query_parameter_given_twice_is_refused(app: FastAPI, client: TestClient) -> None:
    wrong, checked = [], 0
    for method, path, operation in operations(app):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query" or parameter.get("schema", {}).get("type") == "array":
                continue
            name = parameter["name"]
            response = client.request(
                method,
                concrete(path),
                params=[(name, "1"), (name, "2")],
                headers=auth("admin") | {"content-type": "application/x-www-form-urlencoded"},
            )
            checked += 1
            if response.status_code not in (400, 422) or response.json().get("pointer") != name:
                wrong.append(f"{method.upper()} {path} {name}: {response.status_code}")
    assert checked > 20
    assert wrong == []


def test_a_method_a_route_does_not_take_gets_405_with_allow(app: FastAPI, client: TestClient) -> None:
    wrong = []
    for path, item in app.openapi()["paths"].items():
        unused = next(m for m in METHODS if m not in item)
        response = client.request(unused, concrete(path), headers=auth("admin"))
        allowed = {m.strip().lower() for m in response.headers.get("allow", "").split(",") if m.strip()}
        if response.status_code != 405 or not set(item) <= allowed:
            wrong.append(f"{unused.upper()} {path}: {response.status_code} allow={sorted(allowed)}")
    assert wrong == []


def test_diff_of_a_missing_revision_is_404(client: TestClient) -> None:
    response = client.get("/diff", params={"from": 1, "to": 99}, headers=auth("reader"))
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_revision"


@pytest.mark.parametrize(
    "body",
    [
        b'{"rule": "", "reason": "first", "reason": "second", "base_revision": 1}',
        b'{"rule": "", "reason": "why", "base_revision": 1, "encounters": [{"id": "a", "id": "b"}]}',
    ],
    ids=["top-level", "in-an-encounter"],
)
def test_a_change_with_a_duplicate_json_key_is_refused(client: TestClient, body: bytes) -> None:
    for route in ("/rules", "/rules/dry-run"):
        response = client.post(
            route, content=body, headers=auth("editor") | {"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "parse_error"
    assert client.get("/revisions", headers=auth("reader")).json()[-1]["number"] == 1


def test_head_answers_wherever_get_does_with_its_headers_and_no_body(
    app: FastAPI, client: TestClient
) -> None:
    wrong, checked = [], 0
    for method, path, _ in operations(app):
        if method != "get":
            continue
        got = client.get(concrete(path), headers=auth("admin"))
        head = client.head(concrete(path), headers=auth("admin"))
        checked += 1
        same = (head.status_code, head.headers.get("content-type")) == (
            got.status_code,
            got.headers.get("content-type"),
        )
        length = head.headers.get("content-length")
        if not same or head.content or (length is not None and int(length) != len(got.content)):
            wrong.append(
                f"HEAD {path}: {head.status_code} (GET {got.status_code}), {len(head.content)} bytes"
            )
    assert checked > 15
    assert wrong == []


def test_head_where_there_is_no_get_is_405_naming_the_methods(client: TestClient) -> None:
    response = client.head("/validate", headers=auth("admin"))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "HEAD" in client.delete("/summary").headers["allow"].split(", ")
