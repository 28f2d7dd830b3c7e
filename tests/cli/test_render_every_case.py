"""The text form of every shipped coverage answer renders (conflicts included), names each source
with its own evidence level, reads alternative modifiers as alternatives, and says when each
requirement applies, so that no line repeats another."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payerkg.cli.main import render_text
from payerkg.coverage.answer import coverage
from payerkg.editing.what_if import question_from
from payerkg.graph.dataset import PolicyGraph, default_data_root, load_dataset

CASE_FILES = sorted((default_data_root() / "policies").glob("*/cases/coverage.json"))


@pytest.fixture(scope="module")
def policy() -> PolicyGraph:
    return load_dataset()


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{path.parent.parent.name}/{case['id']}")
        for path in CASE_FILES
        for case in json.loads(path.read_text())["cases"]
    ]


@pytest.mark.parametrize("case", _cases())
def test_text_answer_renders(policy: PolicyGraph, case: dict[str, Any]) -> None:
    answer = coverage(policy, question_from(case["question"]))
    text = render_text(answer)
    assert text.splitlines()[0].endswith(answer.determination.upper())
    for conflict in answer.conflicts:
        for side in conflict.sides:
            assert side.rule.rsplit("/", 1)[-1] in text
    for citation in answer.citations:
        assert f"<{citation.url}> ({citation.evidence_level} source" in text
    alternatives = answer.billing.get("modifiers_required_one_of", [])
    unqualified = sorted({m.id for m in alternatives if m.when is None})
    if len(unqualified) > 1:
        lines = [line for line in text.splitlines() if line.startswith("  - modifier, one of:")]
        assert len(lines) == 1 and all(m in lines[0] for m in unqualified)
        assert " or " in lines[0]
    lines = text.splitlines()
    assert len(lines) == len(set(lines)), "a line repeats: its situations are not shown"
    for item in [*answer.limits, *answer.documentation]:
        if item.when:
            assert f"{item.text} (when {item.when})" in text
