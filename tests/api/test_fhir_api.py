"""POST /validate with FHIR R4 claims: the shipped examples end to end, findings as an
OperationOutcome with FHIRPath expressions, refusals as problems naming the element."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
FHIR = "application/fhir+json"


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(
        create_app(Settings(anonymous_role="integrator"), policy=policy), raise_server_exceptions=False
    )


def post(client: TestClient, name: str, accept: str = "application/json") -> dict[str, object]:
    body = (EXAMPLES / name).read_bytes()
    response = client.post("/validate", content=body, headers={"content-type": FHIR, "accept": accept})
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_the_example_bundle_conforms_with_the_json_verdict(client: TestClient) -> None:
    verdict = post(client, "fhir-claim-bundle.json")
    assert verdict["encounter"] == "example-fhir-audio-only-2025"
    assert verdict["no_violations"] is True
    assert set(verdict) == {"encounter", "no_violations", "findings", "graph_revision", "engine"}


def test_findings_come_back_as_an_operation_outcome_pointing_at_the_claim(client: TestClient) -> None:
    body = (EXAMPLES / "fhir-claim-nonconforming.json").read_bytes()
    response = client.post("/validate", content=body, headers={"content-type": FHIR, "accept": FHIR})
    assert response.headers["content-type"].startswith(FHIR)
    outcome = OperationOutcome.model_validate(response.json())  # a valid R4 OperationOutcome
    errors = [issue for issue in outcome.issue if issue.severity == "error"]
    pos = next(i for i in errors if i.expression == ["Claim.item[0].locationCodeableConcept"])
    assert pos.code == "business-rule"
    assert pos.details is not None and pos.details.coding is not None
    assert (
        pos.details.coding[0].code
        == "https://w3id.org/payerkg/rule-version/medicare-telehealth-pos-home-2025"
    )
    assert pos.diagnostics is not None and "source: " in pos.diagnostics
    revision = client.get("/health").json()["graph_revision"]
    assert outcome.extension is not None and outcome.extension[0].valueString == revision


def test_a_conforming_claim_is_one_informational_issue_or_warnings(client: TestClient) -> None:
    outcome = post(client, "fhir-claim-bundle.json", accept=FHIR)
    issues = outcome["issue"]
    assert isinstance(issues, list)
    assert {issue["severity"] for issue in issues} <= {"warning", "information"}


def test_invalid_fhir_is_a_problem_naming_the_element(client: TestClient) -> None:
    document = json.loads((EXAMPLES / "fhir-claim-nonconforming.json").read_text())
    document["item"][0]["servicedDate"] = "not a date"
    response = client.post(
        "/validate", content=json.dumps(document), headers={"content-type": FHIR, "accept": FHIR}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_claim"
    assert response.json()["pointer"] == "Claim.item[0].servicedDate"
    assert "not a date" not in response.text


def test_a_json_encounter_may_ask_for_an_operation_outcome(client: TestClient) -> None:
    encounter = client.get("/encounter/example.json").content
    response = client.post(
        "/validate", content=encounter, headers={"content-type": "application/json", "accept": FHIR}
    )
    assert response.status_code == 200
    assert response.json()["resourceType"] == "OperationOutcome"
    assert all("expression" not in issue for issue in response.json()["issue"])


NAIC_DATA = Path(__file__).resolve().parents[1] / "formats" / "data"


def test_a_naic_code_names_the_payer_and_an_unknown_one_is_a_422(client: TestClient) -> None:
    body = (NAIC_DATA / "fhir-coverage-naic.json").read_bytes()
    response = client.post("/validate", content=body, headers={"content-type": FHIR})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["pointer"]) == (
        "unknown_payer_identifier",
        "Coverage.payor[0]",
    )
    with_naic = load_dataset(extra=[NAIC_DATA / "naic-payer.ttl"])
    naic_client = TestClient(create_app(Settings(anonymous_role="integrator"), policy=with_naic))
    answer = naic_client.post("/validate", content=body, headers={"content-type": FHIR})
    assert answer.status_code == 200, answer.text
