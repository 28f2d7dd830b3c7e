"""Every route against every role: 0 unexpected allows, 0 unexpected denies.

A request counts as denied when it gets 401 or 403, allowed otherwise (a 4xx about the request
itself means the role got through). Requests carry no valid change, so nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.core.access import ROLES
from payerkg.core.store import MemoryStore
from payerkg.settings import Settings
from tests.editing.keys import API_KEYS, auth

MATRIX = json.loads((Path(__file__).parent / "access-matrix.json").read_text())["routes"]
CALLERS = ("anonymous", *ROLES)
DOC_ROUTES = {"GET /openapi.json", "GET /docs", "GET /redoc"}
PATH_VALUES = {
    "{rule_id}": "medicare-telehealth-audio-video",
    "{payer_id}": "medicare",
    "{code}": "99213",
    "{number}": "1",
}


def routes(app: FastAPI) -> set[str]:
    operations = {
        f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items() for method in ops
    }
    return operations | DOC_ROUTES


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
    return client.request(method, path, headers=auth(caller)).status_code


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
