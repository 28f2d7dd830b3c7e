"""`payerkg validate` on FHIR R4 claims: text with the Claim element, an OperationOutcome, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_lint import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_example_bundle_conforms() -> None:
    result = run_cli("validate", str(EXAMPLES / "fhir-claim-bundle.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fhir-claim-bundle.json: conforms" in result.stdout


def test_the_nonconforming_claim_names_the_element_rule_and_source() -> None:
    result = run_cli("validate", str(EXAMPLES / "fhir-claim-nonconforming.json"))
    assert result.returncode == 1
    assert "at: Claim.item[0].locationCodeableConcept" in result.stdout
    assert "rule: https://w3id.org/payerkg/rule-version/medicare-telehealth-pos-home-2025" in result.stdout
    outcome = run_cli("validate", "--format", "fhir", str(EXAMPLES / "fhir-claim-nonconforming.json"))
    assert outcome.returncode == 1
    issues = json.loads(outcome.stdout)["issue"]
    assert ["Claim.item[0].locationCodeableConcept"] in [issue.get("expression") for issue in issues]


def test_invalid_fhir_exits_2_naming_the_element(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "fhir-claim-bundle.json").read_text())
    document["entry"][0]["resource"]["item"][0]["productOrService"]["coding"][0]["system"] = (
        "http://loinc.org"
    )
    (tmp_path / "claim.json").write_text(json.dumps(document))
    result = run_cli("validate", str(tmp_path / "claim.json"))
    assert result.returncode == 2
    assert "invalid_claim: Claim.item[0].productOrService" in result.stderr
    assert "Traceback" not in result.stderr
