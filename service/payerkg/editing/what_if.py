"""What a proposed change would change: the verdicts of sample encounters and the answers to
sample coverage questions, judged on the graph before and after.

The samples are the cases that sit beside the rules (``policies/<payer>/cases/``) plus whatever
encounters the editor brings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.errors import InputError
from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.jsondoc import JSONObject
from payerkg.validation.encounter import Encounter, encounter_from_json
from payerkg.validation.validate import validate_encounter


@dataclass
class VerdictChange:
    kind: str  # "encounter" or "coverage"
    id: str
    before: str
    after: str


def question_from(data: JSONObject) -> CoverageQuestion:
    """A CoverageQuestion from a case file's question object (same names as the HTTP API)."""
    fields = dict(data)
    fields["date_of_service"] = date.fromisoformat(fields.pop("date"))
    if "as_of" in fields:
        fields["as_of"] = date.fromisoformat(fields["as_of"])
    return CoverageQuestion(**fields)


def sample_encounters(root: Path | None = None) -> list[Encounter]:
    """The encounters of every case beside the rules."""
    root = root or default_data_root()
    return [
        encounter_from_json(json.loads(path.read_text(encoding="utf-8"))["encounter"])
        for path in sorted((root / "policies").glob("*/cases/encounters/*.json"))
    ]


def sample_questions(root: Path | None = None) -> list[tuple[str, CoverageQuestion]]:
    """The questions of every coverage case beside the rules, with the case ids."""
    root = root or default_data_root()
    return [
        (f"{path.parent.parent.name}/{case_id}", question)
        for path in sorted((root / "policies").glob("*/cases/coverage.json"))
        for case_id, question in questions_from_cases(json.loads(path.read_text(encoding="utf-8")))
    ]


def questions_from_cases(document: Any) -> list[tuple[str, CoverageQuestion]]:
    """The questions of a coverage case document (``{"cases": [{"id", "question"}, ...]}``)."""
    try:
        return [(str(case["id"]), question_from(case["question"])) for case in document["cases"]]
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"not a coverage case document ({error.__class__.__name__})", "questions") from None


def what_if(
    before: PolicyGraph,
    after: PolicyGraph,
    encounters: list[Encounter],
    questions: list[tuple[str, CoverageQuestion]],
) -> list[VerdictChange]:
    """Every encounter whose verdict and every question whose answer differs between the graphs."""
    changes = []
    for encounter in encounters:
        was, will = _verdict(before, encounter), _verdict(after, encounter)
        if was != will:
            changes.append(VerdictChange("encounter", encounter.id, was, will))
    for case_id, question in questions:
        was, will = _answer(before, question), _answer(after, question)
        if was != will:
            changes.append(VerdictChange("coverage", case_id, was, will))
    return changes


def _verdict(policy: PolicyGraph, encounter: Encounter) -> str:
    result = validate_encounter(policy, encounter)
    if result.no_violations:
        return "conforms"
    violations = [f for f in result.findings if f.rule and f.severity == "violation"]
    broken = sorted({str(f.rule).rsplit("/", 1)[-1] for f in violations})
    return "violates " + ", ".join(broken)


def _answer(policy: PolicyGraph, question: CoverageQuestion) -> str:
    answer = coverage(policy, question)
    rules = ", ".join(sorted(r.rsplit("/", 1)[-1] for r in answer.rules))
    return f"{answer.determination} ({rules or 'no rule'})"
