"""The CDS Hooks coverage service (docs/cds-hooks.md): discovery, the shipped appointment-book
request and the Da Vinci CRD IG's own example requests end to end, the determination mapping,
the CRD coverage-information invariants, and refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.appointment import Appointment

from payerkg.api.app import create_app
from payerkg.coverage.crd import COVERAGE_INFORMATION, CRD_COVERED, crd_violations
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from tests.cli.test_lint import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "crd-appointment-book.json"
IG = Path(__file__).parent / "crd-examples"


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(
        create_app(Settings(anonymous_role="integrator"), policy=policy), raise_server_exceptions=False
    )


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return document


def call(client: TestClient, service: str, request: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/cds-services/{service}", json=request)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def parts(extension: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for part in extension["extension"]:
        value = next(v for k, v in part.items() if k.startswith("value") or k == "extension")
        found.setdefault(part["url"], []).append(value)
    return found


def check_crd_invariants(extension: dict[str, Any]) -> None:
    """CRD's cardinalities and invariants (payerkg.coverage.crd.crd_violations), and a detail's parts."""
    assert crd_violations(extension) == []
    assert extension["url"] == COVERAGE_INFORMATION
    for detail in parts(extension).get("detail", []):
        assert {d["url"] for d in detail} >= {"category", "code", "value"}


def test_discovery_lists_the_three_hooks_with_their_prefetch(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"appointment-book", "order-sign", "encounter-start"}
    ig_keys = set(json.loads((IG / "discovery-CRDServices.json").read_text())["services"][0])
    for service in services:
        assert (
            {"hook", "title", "description", "id", "prefetch"}
            <= set(service)
            <= ig_keys | {"usageRequirements"}
        )
        assert {"patient", "coverage", "practitioner"} <= set(service["prefetch"])


def test_the_shipped_appointment_book_request_gets_a_card_and_coverage_information(
    client: TestClient,
) -> None:
    answer = call(client, "payerkg-appointment-book", example())
    card = answer["cards"][0]
    assert card["summary"] == "medicare 99214 on 2025-05-01: covered only if conditions hold"
    assert len(card["summary"]) <= 140 and card["indicator"] == "warning"
    assert card["source"]["topic"]["code"] == "coverage-info"
    action = answer["systemActions"][0]
    assert action["type"] == "update"
    appointment = Appointment.model_validate(action["resource"])  # still a valid FHIR Appointment
    assert appointment.id == "appt-1"
    extension = action["resource"]["extension"][0]
    check_crd_invariants(extension)
    found = parts(extension)
    assert found["covered"] == ["conditional"]
    assert found["coverage"] == [{"reference": "Coverage/cov-1"}]
    assert set(found["info-needed"]) == {"OTH", "location"}  # modality, attestations; where the patient is
    assert "modality" in found["reason"][0]["text"]
    assert found["doc-needed"] == ["clinical"]
    revision = client.get("/health").json()["graph_revision"]
    assert found["coverage-assertion-id"][0].startswith(f"payerkg:{revision}:medicare:99214:")
    rules = [d for d in found["detail"] if d[1]["valueCodeableConcept"]["coding"][0]["code"] == "rule"]
    assert any(
        r[2]["valueString"] == "https://w3id.org/payerkg/rule-version/medicare-audio-only-home-2025"
        and "https://medicare.fcso.com/EM/0459457.asp" in r[3]["valueString"]
        for r in rules
    )


def encounter_start(code: str, day: str, encounter_class: str) -> dict[str, Any]:
    request = example()
    request["hook"] = "encounter-start"
    request["context"] = {"userId": "PractitionerRole/role-1", "patientId": "pat-1", "encounterId": "enc-1"}
    request["prefetch"]["encounter"] = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": encounter_class},
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]}],
        "period": {"start": f"{day}T09:00:00Z"},
    }
    return request


def test_an_invalid_code_is_not_covered_with_a_reason(client: TestClient) -> None:
    answer = call(client, "payerkg-encounter-start", encounter_start("99442", "2025-02-10", "VR"))
    found = parts(answer["systemActions"][0]["resource"]["extension"][0])
    check_crd_invariants(answer["systemActions"][0]["resource"]["extension"][0])
    assert found["covered"] == ["not-covered"]
    assert found["reason"]
    assert answer["cards"][0]["summary"].endswith("not covered")


def test_unknown_is_a_card_saying_no_rule_is_known_never_covered(client: TestClient) -> None:
    answer = call(client, "payerkg-encounter-start", encounter_start("77065", "2025-05-01", "AMB"))
    assert answer["systemActions"] == []
    assert answer["cards"][0]["summary"] == "medicare 77065 on 2025-05-01: no rule is known"
    assert "says nothing about coverage" in answer["cards"][0]["detail"]


def test_the_ig_order_sign_example_is_answered(client: TestClient) -> None:
    request = json.loads((IG / "order-sign-CRDServiceRequest.json").read_text())
    answer = call(client, "payerkg-order-sign", request)
    assert answer["systemActions"] == []  # its payer (Acme Health Plan) is not one payerkg knows
    assert "cannot tell the payer" in answer["cards"][0]["summary"]
    coverage = request["prefetch"]["coverage"]["entry"][0]["resource"]
    coverage["payor"] = [{"identifier": {"system": "https://w3id.org/payerkg/payer", "value": "medicare"}}]
    answer = call(client, "payerkg-order-sign", request)
    summaries = [card["summary"] for card in answer["cards"]]
    assert len(summaries) == 5 and all(
        s.startswith("medicare ") for s in summaries
    )  # a card per billing code


def test_the_ig_appointment_book_example_is_answered(client: TestClient) -> None:
    request = json.loads((IG / "appointment-book-CRDServiceRequest4.json").read_text())
    answer = call(client, "payerkg-appointment-book", request)
    assert answer["systemActions"] == []
    assert answer["cards"][0]["summary"] == "payerkg cannot tell the payer: no Coverage in prefetch"


@pytest.mark.parametrize(
    ("service", "change", "status", "code"),
    [
        ("payerkg-order-sign", lambda r: r, 422, "invalid_hook_request"),  # an appointment-book request
        ("no-such-service", lambda r: r, 404, "unknown_service"),
        ("payerkg-appointment-book", lambda r: r.pop("context"), 422, "invalid_hook_request"),
        (
            "payerkg-appointment-book",
            lambda r: r["context"]["appointments"]["entry"][0]["resource"].update(start="soon"),
            422,
            "invalid_hook_request",
        ),
        (
            "payerkg-appointment-book",
            lambda r: r["prefetch"].update(coverage={"resourceType": "NoSuchThing"}),
            422,
            "invalid_hook_request",
        ),
    ],
)
def test_requests_it_cannot_take_are_problems(
    client: TestClient, service: str, change: Any, status: int, code: str
) -> None:
    request = example()
    change(request)
    response = client.post(f"/cds-services/{service}", json=request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "soon" not in response.text


def test_the_invariant_check_finds_what_crd_forbids() -> None:
    extension = {
        "url": COVERAGE_INFORMATION,
        "extension": [
            {"url": "coverage", "valueReference": {"reference": "Coverage/c"}},
            {"url": "covered", "valueCode": "not-covered"},
            {"url": "pa-needed", "valueCode": "satisfied"},
            {"url": "info-needed", "valueCode": "OTH"},
            {"url": "date", "valueDate": "2025-05-01"},
            {"url": "coverage-assertion-id", "valueString": "x"},
        ],
    }
    assert crd_violations(extension) == ["crd-ci-q2", "crd-ci-q5", "crd-ci-q6"]


def test_hostile_requests_are_4xx_quickly(client: TestClient) -> None:
    deep = b'{"hook": "appointment-book", "hookInstance": "x", "context": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    huge = json.dumps(dict(example(), padding="x" * 300_000)).encode()
    for body, status in ((deep, 422), (huge, 413), (b"\xff\xfe", 422), (b"[]", 422)):
        response = client.post(
            "/cds-services/payerkg-appointment-book",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == status, response.text


def test_the_cli_answers_the_shipped_request_as_the_route_does(tmp_path: Path) -> None:
    result = run_cli("cds-hook", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["cards"][0]["summary"] == "medicare 99214 on 2025-05-01: covered only if conditions hold"
    check_crd_invariants(answer["systemActions"][0]["resource"]["extension"][0])
    (tmp_path / "bad.json").write_text(json.dumps(dict(example(), hook="patient-view")))
    refused = run_cli("cds-hook", str(tmp_path / "bad.json"))
    assert refused.returncode == 2 and "invalid_hook_request" in refused.stderr


def test_the_documented_determination_mapping_is_the_codes() -> None:
    text = (ROOT / "docs" / "cds-hooks.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| `([a-z-]+)` \|", text, flags=re.MULTILINE))
    assert documented == CRD_COVERED
    assert "| `unknown` | none: no extension |" in text
