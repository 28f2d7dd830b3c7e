"""The HTTP API on the real graph."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from rdflib.namespace import RDF

from payerkg.api.app import create_app
from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion
from payerkg.graph.catalog import payer_identifiers
from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PK
from payerkg.services import coverage
from payerkg.settings import Settings


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))


def test_health_names_the_revision(client: TestClient, policy: PolicyGraph) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["graph_revision"] == policy.revision
    assert (body["revision_number"], body["store"]) == (1, "fixed")  # the files alone: revision 1, no store


def test_summary_counts_what_is_loaded(client: TestClient, policy: PolicyGraph) -> None:
    body = client.get("/summary").json()
    codes = set(policy.dataset.subjects(RDF.type, PK.ProcedureCode))
    assert body["counts"]["ProcedureCode"] == len(codes) > 80
    assert "ontology/payerkg.ttl" in body["files"]


def test_readme_example_home_visit_2024(client: TestClient) -> None:
    response = client.get(
        "/coverage",
        params={
            "payer": "medicare",
            "code": "99213",
            "date": "2024-03-15",
            "modality": "audio-video",
            "patient_status": "established",
            "patient_location": "home",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["determination"] == "covered"
    assert [i["id"] for i in body["billing"]["place_of_service_required"]] == ["10"]
    assert body["citations"] and all(c["url"] and c["accessed"] for c in body["citations"])


def test_unknown_payer_is_404_problem_without_echo(client: TestClient) -> None:
    response = client.get("/coverage", params={"payer": "acme-secret", "code": "99213", "date": "2024-03-15"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unknown_payer"
    assert "acme-secret" not in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"payer": "medicare", "code": "99213", "date": "not-a-date"},
        {"payer": "medicare", "code": "99213<script>", "date": "2024-03-15"},
        {"payer": "medicare", "code": "99213", "date": "2024-03-15", "modality": "telepathy"},
        {"payer": "medicare", "code": "99213"},
    ],
)
def test_malformed_parameter_is_422_problem_without_echo(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/coverage", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameter"
    for value in params.values():
        if value not in ("medicare", "99213", "2024-03-15"):
            assert value not in response.text


def test_payers_and_payer(client: TestClient) -> None:
    ids = [p["id"] for p in client.get("/payers").json()]
    assert "medicare" in ids and ids == sorted(ids)
    assert client.get("/payers/medicare").json()["label"].startswith("Medicare")
    assert client.get("/payers/nobody").status_code == 404


def test_each_payer_lists_the_identifiers_a_claim_may_name_it_by(
    client: TestClient, policy: PolicyGraph
) -> None:
    """The identifiers /payers shows are the ones the claim readers resolve to that payer."""
    identifiers = payer_identifiers(policy)
    listed = {p["id"]: p for p in client.get("/payers").json()}
    shown = [(p, value) for p in listed for value in listed[p]["electronic_payer_ids"]]
    assert shown, "the graph states electronic payer IDs"
    assert all(identifiers.electronic(value) == payer for payer, value in shown)
    assert sorted(value for _, value in shown) == sorted(identifiers.electronic_ids)
    naic = [(p, value) for p in listed for value in listed[p]["naic_company_codes"]]
    assert sorted(value for _, value in naic) == sorted(identifiers.naic_codes)


def test_code_validity_and_recognition(client: TestClient) -> None:
    body = client.get("/codes/98000", params={"date": "2025-06-01"}).json()
    assert body["valid"] is True
    medicare = [r for r in body["recognition"] if r["payer"] == "medicare"]
    assert medicare and medicare[0]["recognized"] is False and medicare[0]["status_indicator"] == "I"
    assert client.get("/codes/99441", params={"date": "2025-06-01"}).json()["valid"] is False
    assert client.get("/codes/99999", params={"date": "2025-06-01"}).status_code == 404


def test_rule_version_as_turtle_and_json(client: TestClient) -> None:
    turtle = client.get("/rules/medicare-telephone-em-2024", headers={"accept": "text/turtle"})
    assert turtle.status_code == 200 and "ngsmedicare.com" in turtle.text
    as_json = client.get("/rules/medicare-telehealth-waiver")
    assert as_json.status_code == 200
    assert client.get("/rules/no-such-rule").status_code == 404


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/json"),
        ("text/turtle;q=0, */*", "application/json"),
        ("text/turtle;q=0, application/ld+json;q=0.5", "application/ld+json"),
        ("application/ld+json, text/turtle", "application/ld+json"),
        ("text/*", "text/turtle"),
        ("text/csv", None),
    ],
)
def test_rule_document_format_is_negotiated(client: TestClient, accept: str, expected: str | None) -> None:
    response = client.get("/rules/medicare-telephone-em-2024", headers={"accept": accept})
    if expected is None:
        assert response.status_code == 406 and response.json()["code"] == "not_acceptable"
        return
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.headers["vary"] == "Accept"


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/health",
        "/coverage",
        "/payers",
        "/payers/{payer_id}",
        "/codes/{code}",
        "/rules/{rule_id}",
    } <= set(paths)


def test_review_lists_versions_oldest_first_and_refuses_a_bad_age(client: TestClient) -> None:
    entries = client.get("/review", params={"payer": "cigna-commercial"}).json()
    assert entries and {e["payer"] for e in entries} == {"cigna-commercial"}
    assert [e["reviewed_on"] for e in entries] == sorted(e["reviewed_on"] for e in entries)
    assert all(s["evidence_level"] for e in entries for s in e["sources"])
    refused = client.get("/review", params={"older_than": "soon"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize("payer", ["medicare", "uhc-commercial", "aetna-commercial"])
def test_a_coverage_answer_is_the_bytes_its_response_model_writes(
    client: TestClient, policy: PolicyGraph, payer: str
) -> None:
    """/coverage writes its answer with orjson; FastAPI wrote the same after checking it against
    ``response_model``, and still documents it so."""
    model = TypeAdapter(CoverageAnswer)
    for code, day, modality in itertools.product(
        ["99213", "99457", "99442", "G2012", "98004", "90837"],
        ["2020-06-01", "2024-03-15", "2027-01-02"],
        [None, "audio-only"],
    ):
        params = {"payer": payer, "code": code, "date": day} | ({"modality": modality} if modality else {})
        response = client.get("/coverage", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        answer = model.validate_json(response.content)
        assert response.content == model.dump_json(answer)
        question = CoverageQuestion(payer, code, date.fromisoformat(day), modality=modality)
        assert response.content == model.dump_json(coverage.ask(policy, question))
