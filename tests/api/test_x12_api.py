"""POST /validate with X12 837P files: one verdict per claim with the segment and element of each
finding, a summary, and refusals (422) naming the segment position."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "claims.837"
X12 = "application/edi-x12"


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(
        create_app(Settings(anonymous_role="integrator"), policy=policy), raise_server_exceptions=False
    )


def test_the_example_file_gives_one_verdict_per_claim_and_a_summary(client: TestClient) -> None:
    response = client.post("/validate", content=EXAMPLE.read_bytes(), headers={"content-type": X12})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["format"] == "x12-837p"
    assert [(c["claim"], c["no_violations"]) for c in answer["claims"]] == [
        ("UHC-VIDEO-1", True),
        ("UHC-VIDEO-2", False),
    ]
    violation = next(f for f in answer["claims"][1]["findings"] if f["severity"] == "violation")
    assert violation["location"] == "2400 SV1-05, line 1, segment 40"
    assert violation["rule"] == "https://w3id.org/payerkg/rule-version/uhc-telehealth-pos-02-or-10"
    assert violation["citations"][0]["url"]
    assert answer["summary"] == {
        "claims": 2,
        "conform": 1,
        "do_not_conform": 1,
        "violations_by_rule": {violation["rule"]: 1},
    }
    assert answer["claims"][0]["graph_revision"] == client.get("/health").json()["graph_revision"]


def test_a_broken_envelope_is_422_naming_the_segment_and_reports_no_claim(client: TestClient) -> None:
    broken = EXAMPLE.read_text().replace("SE*40*", "SE*41*").encode()
    response = client.post("/validate", content=broken, headers={"content-type": X12})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["pointer"] == "segment 42 (SE)"
    assert "claims" not in response.json()


def test_the_openapi_document_names_the_claim_file_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    content = document["paths"]["/validate"]["post"]["responses"]["200"]["content"]
    refs = [option["$ref"] for option in content["application/json"]["schema"]["oneOf"]]
    assert "#/components/schemas/ClaimFileVerdict" in refs
    assert {"ClaimFileVerdict", "ClaimVerdict", "ClaimFinding", "ClaimsSummary"} <= document["components"][
        "schemas"
    ].keys()
    assert X12 in document["paths"]["/validate"]["post"]["requestBody"]["content"]


NAIC_DATA = Path(__file__).resolve().parents[1] / "formats" / "data"


def test_a_naic_code_names_the_payer_and_an_unknown_one_is_a_422(client: TestClient) -> None:
    body = (NAIC_DATA / "claims-naic.837").read_bytes()
    response = client.post("/validate", content=body, headers={"content-type": X12})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["pointer"]) == (
        "unknown_payer_identifier",
        "segment 20 (NM1-09)",
    )
    assert "claims" not in response.json()
    with_naic = load_dataset(extra=[NAIC_DATA / "naic-payer.ttl"])
    naic_client = TestClient(create_app(Settings(anonymous_role="integrator"), policy=with_naic))
    answer = naic_client.post("/validate", content=body, headers={"content-type": X12})
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["claims"] == 2
