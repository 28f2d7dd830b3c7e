"""A finding names the code billed on the line at fault, not every code its rule covers (a rule
on office E/M covers 20-30 codes; a biller needs the one on the claim line)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from payerkg.graph.dataset import PolicyGraph
from payerkg.validation.encounter import encounter_from_json
from payerkg.validation.validate import validate_encounter

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(ROOT.glob("policies/*/cases/encounters/violates-*.json"))
CODE = re.compile(r"\b[0-9]{4}[0-9A-Z]\b|\b[A-Z][0-9]{4}\b")
CODE_RULES = ("not covered by this payer", "must not be billed with")


def test_a_not_covered_finding_names_the_billed_code_only(policy: PolicyGraph) -> None:
    case = json.loads(
        (ROOT / "policies/medicare/cases/encounters/violates-audio-only-office-em-2024.json").read_text()
    )
    found = validate_encounter(policy, encounter_from_json(case["encounter"]))
    messages = [f.message for f in found.findings if "not covered" in f.message]
    assert messages and messages[0].startswith("code 99213: not covered by this payer")
    assert "99214" not in messages[0] and "99212" not in messages[0]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_code_rule_finding_of_the_cases_names_one_billed_code(policy: PolicyGraph, path: Path) -> None:
    encounter = json.loads(path.read_text())["encounter"]
    billed = {line["code"] for line in encounter["lines"]}
    for finding in validate_encounter(policy, encounter_from_json(encounter)).findings:
        if any(words in finding.message for words in CODE_RULES):
            subject = re.split(r": not covered| must not be billed", finding.message)[0]
            assert "{$" not in finding.message
            assert [c for c in CODE.findall(subject)] in ([c] for c in billed), finding.message
