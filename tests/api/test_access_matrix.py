"""Every route against every role: 0 unexpected allows, 0 unexpected denies.

A request counts as denied when it gets 401 or 403, allowed otherwise (a 4xx about the request
itself means the role got through). Requests carry no valid change, so nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from payerkg.access import ROLES
from payerkg.api.app import create_app
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, auth

MATRIX = json.loads((Path(__file__).parent / "access-matrix.json").read_text())["routes"]
CALLERS = ("anonymous", *ROLES)
DOC_ROUTES = {"GET /openapi.json", "GET /docs", "GET /docs/assets/{name}"}
PATH_VALUES = {
    "{rule_id}": "medicare-telehealth-audio-video",
    "{payer_id}": "medicare",
    "{code}": "99213",
    "{number}": "1",
    "{name}": "swagger-ui.css",
}


def routes(app: FastAPI) -> set[str]:
    operations = {
        f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items() for method in ops
    }
    hidden = {
        f"{method} {path}"
        for path, route in api_routes(app.routes)
        if not route.include_in_schema
        for method in route.methods or ()
    }
    return operations | hidden | DOC_ROUTES


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route with its full path, inside included routers too (FastAPI keeps them nested)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            inner = prefix + getattr(getattr(route, "include_context", None), "prefix", "")
            yield from api_routes(included.routes, inner)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def expected(route: str, caller: str, anonymous_role: str) -> bool:
    least = MATRIX[route]
    if least == "public":
        return True
    ranks = [ROLES.index(r) for r in (caller, anonymous_role) if r in ROLES]
    return bool(ranks) and max(ranks) >= ROLES.index(least)


def call(client: TestClient, route: str, caller: str) -> int:
    method, path = route.split(" ", 1)
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    status: int = client.request(method, path, headers=auth(caller)).status_code
    return status


@pytest.fixture(
    scope="module", params=["none", "integrator"], ids=["anonymous-closed", "anonymous-integrator"]
)
def app(request: pytest.FixtureRequest) -> FastAPI:
    return create_app(Settings(api_keys=API_KEYS, anonymous_role=request.param), store=MemoryStore())


def test_the_table_names_every_route_and_no_other(app: FastAPI) -> None:
    assert routes(app) == set(MATRIX)


def test_every_route_admits_exactly_its_roles(app: FastAPI) -> None:
    anonymous_role = app.state.settings.anonymous_role
    client = TestClient(app, raise_server_exceptions=False)
    unexpected = []
    for route in sorted(MATRIX):
        for caller in CALLERS:
            status = call(client, route, caller)
            allowed = status not in (401, 403)
            if allowed != expected(route, caller, anonymous_role):
                unexpected.append(f"{route} as {caller}: {status}")
    assert unexpected == []


def test_an_unknown_key_is_refused_even_where_anonymous_callers_may_go(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/coverage", headers={"authorization": "Bearer not-a-key"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "not-a-key" not in response.text


AUDIT = json.loads((Path(__file__).parent / "access-matrix.json").read_text())["audit"]
EDITS = Path(__file__).parents[1] / "editing"
AUDIT_REASON = "audit exposure test: who may read this"


@pytest.fixture(scope="module")
def edited() -> TestClient:
    """A service with one accepted edit, so its record shows in every route that shows records."""
    app = create_app(Settings(api_keys=API_KEYS), store=MemoryStore())
    client = TestClient(app, raise_server_exceptions=False)
    change = {
        "rule": (EDITS / "add-uhc-rpm-2027.ttl").read_text(encoding="utf-8"),
        "reason": AUDIT_REASON,
        "base_revision": 1,
    }
    assert client.post("/rules", json=change, headers=auth("editor")).status_code == 201
    return client


def revision_records(body: object) -> list[dict[str, object]]:
    """Every revision record in a JSON answer, wherever it is nested."""
    if isinstance(body, list):
        return [record for item in body for record in revision_records(item)]
    if isinstance(body, dict):
        own = [body] if {"hash", "kind", "number"} <= body.keys() else []
        return own + [record for value in body.values() for record in revision_records(value)]
    return []


@pytest.mark.parametrize("route", AUDIT["routes"])
def test_audit_fields_are_shown_to_admins_only(edited: TestClient, route: str) -> None:
    path = route.split(" ", 1)[1].replace("{number}", "2").replace("{rule_id}", "test-uhc-rpm")
    for caller in ROLES:
        response = edited.get(path, headers=auth(caller))
        if not expected(route, caller, "none"):
            assert response.status_code in (401, 403)
            continue
        records = revision_records(response.json())
        assert records, f"{route} as {caller}: no revision record"
        shown = ROLES.index(caller) >= ROLES.index(AUDIT["least"])
        for record in records:
            assert {field: field in record for field in AUDIT["fields"]} == dict.fromkeys(
                AUDIT["fields"], shown
            ), f"{route} as {caller}"
        assert (AUDIT_REASON in response.text) == shown


@pytest.mark.parametrize("probe", AUDIT["sparql_probes"])
def test_the_sparql_endpoint_serves_no_audit_record(edited: TestClient, probe: str) -> None:
    for caller in ("reader", "admin"):
        response = edited.get(
            "/sparql",
            params={"query": probe},
            headers=auth(caller) | {"accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer.get("boolean", False) is False
        assert answer.get("results", {}).get("bindings", []) == []
        assert AUDIT_REASON not in response.text


def test_the_sparql_endpoint_still_serves_edits(edited: TestClient) -> None:
    query = "ASK { <https://w3id.org/payerkg/rule-version/test-uhc-rpm-2027> ?p ?o }"
    response = edited.get(
        "/sparql",
        params={"query": query},
        headers=auth("reader") | {"accept": "application/sparql-results+json"},
    )
    assert response.json()["boolean"] is True
