"""The OpenAPI document names every answer's schema, so that clients (and schemathesis) can
check what the service returns."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.services.coverage import facet_values
from payerkg.settings import Settings

SUCCESS = ("200", "201")


@pytest.fixture(scope="module")
def document(policy: PolicyGraph) -> dict[str, object]:
    client = TestClient(create_app(Settings(), policy=policy))
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def _operations(document: dict[str, object]) -> list[tuple[str, str, dict[str, object]]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return [(path, method, op) for path, item in paths.items() for method, op in item.items()]


def test_every_route_names_the_schema_of_its_answer(document: dict[str, object]) -> None:
    missing = []
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert isinstance(responses, dict)
        success = [responses[s] for s in SUCCESS if s in responses]
        content = success[0].get("content", {}) if success else {}
        if not content or any(not media.get("schema") for media in content.values()):
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_route_documents_its_problems(document: dict[str, object]) -> None:
    """Each route but the open ones names the problems a caller meets: an unknown key, a role
    below the route's, a malformed parameter."""
    open_routes = {"/health", "/openapi.json", "/docs", "/redoc"}
    lacking = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(document)
        if path not in open_routes and not path.startswith("/encounter/")
        if not {"401", "403", "422"} <= set(operation["responses"])  # type: ignore[call-overload]
    ]
    assert lacking == []


def test_the_bearer_scheme_and_the_change_bodies_are_declared(document: dict[str, object]) -> None:
    components = document["components"]
    assert isinstance(components, dict)
    assert components["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path in ("/rules", "/rules/dry-run"):
        content = paths[path]["post"]["requestBody"]["content"]
        assert {"application/json", "text/turtle"} <= content.keys()
    assert "query" in {p["name"] for p in paths["/sparql"]["get"]["parameters"]}


def test_facet_values_are_read_from_the_graph(document: dict[str, object], policy: PolicyGraph) -> None:
    paths = document["paths"]
    assert isinstance(paths, dict)
    parameters = {p["name"]: p for p in paths["/coverage"]["get"]["parameters"]}
    values = facet_values(policy)
    assert "audio-only" in values["modality"]
    for name, known in values.items():
        assert parameters[name]["schema"]["anyOf"][0]["enum"] == known
