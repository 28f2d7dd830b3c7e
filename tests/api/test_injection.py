"""Hostile parameter values never change the answer to another question and never cause a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings

HOSTILE = st.one_of(
    st.sampled_from(
        [
            '"',
            "'",
            "}",
            "{",
            "#",
            "\n",
            "> } UNION { ?s ?p ?o",
            'medicare" . ?x ?y ?z #',
            "SELECT",
            "DROP ALL",
            "<urn:x>",
            "\\u0022",
            "medicare#",
            '99213" || true',
        ]
    ),
    st.text(min_size=1, max_size=40),
)


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=HOSTILE, field=st.sampled_from(["payer", "code", "practitioner_type"]))
def test_hostile_values_give_no_match_or_4xx(client: TestClient, value: str, field: str) -> None:
    params = {"payer": "medicare", "code": "99213", "date": "2024-03-15", field: value}
    response = client.get("/coverage", params=params)
    assert response.status_code in (200, 404, 422), response.text
    if response.status_code == 200:
        # Only a value equal to a real id can answer; then it answers its own question.
        assert response.json()[field if field != "practitioner_type" else "payer"] in (value, "medicare")
