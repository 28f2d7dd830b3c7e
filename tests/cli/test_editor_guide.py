"""The worked example of policies/README.md lints clean and answers its own case."""

from __future__ import annotations

import json
import re
from pathlib import Path

from payerkg.coverage.answer import coverage
from payerkg.editing.what_if import question_from
from payerkg.graph.dataset import load_dataset
from payerkg.namespaces import PK, RV
from payerkg.validation.lint import lint_files

GUIDE = (Path(__file__).resolve().parents[2] / "policies" / "README.md").read_text()


def _block(language: str) -> str:
    blocks: list[str] = re.findall(rf"```{language}\n(.*?)```", GUIDE, flags=re.S)
    return blocks[0]


def test_worked_example_lints_clean_and_answers_its_case(tmp_path: Path) -> None:
    rule_file = tmp_path / "example-rule.ttl"
    rule_file.write_text(_block("turtle"))
    assert lint_files([rule_file]) == []
    # Step 2: a draft is ignored by answers; step 5: once active, it answers the case.
    activated = tmp_path / "example-rule-active.ttl"
    activated.write_text(_block("turtle").replace("pk:status pk:Draft", "pk:status pk:Active"))
    case = json.loads(_block("json"))
    policy = load_dataset(extra=[activated])
    assert (RV["example-uhc-psychotherapy-video-2022"], PK.status, PK.Active) in policy.dataset
    answer = coverage(policy, question_from(case["question"]))
    assert answer.determination == case["expect"]["determination"]
    required = sorted({i.id for i in answer.billing["place_of_service_required"]})
    assert required == case["expect"]["place_of_service_required"]
    draft = coverage(load_dataset(extra=[rule_file]), question_from(case["question"]))
    assert not any(r.endswith("example-uhc-psychotherapy-video-2022") for r in draft.rules)
