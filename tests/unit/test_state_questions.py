"""Questions by state: every jurisdiction has a law layer, and a question naming a state (instead
of a payer id) is answered for that state's fully insured plan, from the API and the CLI alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.catalog import state_plans
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from tests.cli.runner import run_cli

JURISDICTIONS = [
    line
    for line in (Path(__file__).parent / "jurisdictions.txt").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(create_app(Settings(anonymous_role="reader"), policy=policy))


def test_every_state_and_dc_has_one_layer_and_one_fully_insured_plan(policy: PolicyGraph) -> None:
    plans = state_plans(policy)
    assert sorted(plans) == sorted(JURISDICTIONS)
    assert all(plan == f"{state.lower()}-fully-insured" for state, plan in plans.items())


def test_a_state_question_is_the_plan_question(client: TestClient) -> None:
    question = {"code": "99213", "date": "2025-06-01", "modality": "audio-video"}
    by_state = client.get("/coverage", params=question | {"state": "tx"})
    by_plan = client.get("/coverage", params=question | {"payer": "tx-fully-insured"})
    assert by_state.status_code == 200 and by_state.json() == by_plan.json()
    assert by_state.json()["payer"] == "tx-fully-insured"


def test_a_state_without_a_law_answers_unknown_saying_why(client: TestClient) -> None:
    answer = client.get("/coverage", params={"state": "FL", "code": "99213", "date": "2025-06-01"}).json()
    assert answer["determination"] == "unknown"
    assert "Florida law does not require" in answer["summary"]


@pytest.mark.parametrize(
    "params",
    [
        {"state": "ZZ"},
        {"state": "T1"},
        {"state": "TX", "payer": "medicare"},
        {},
    ],
    ids=["unknown state", "not a postal code", "both state and payer", "neither"],
)
def test_a_bad_state_is_a_422_naming_the_parameter(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/coverage", params={"code": "99213", "date": "2025-06-01"} | params)
    assert response.status_code == 422 and response.json()["code"] == "invalid_parameter"
    assert response.json()["pointer"] in ("state", "payer")


def test_the_cli_takes_a_state() -> None:
    answered = run_cli(
        "coverage", "--state", "TX", "--code", "99213", "--date", "2025-06-01", "--format", "json"
    )
    assert answered.returncode == 0 and '"payer": "tx-fully-insured"' in answered.stdout
    refused = run_cli("coverage", "--state", "ZZ", "--code", "99213", "--date", "2025-06-01")
    assert refused.returncode == 2 and "state must be" in refused.stderr
