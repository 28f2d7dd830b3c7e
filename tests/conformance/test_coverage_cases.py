"""Runs every coverage case that sits beside the rules (policies/<payer>/cases/coverage.json), on
every store backend."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import pytest

from payerkg.coverage.answer import CoverageAnswer, coverage
from payerkg.editing.what_if import question_from
from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.graph.rules import rule_model

CASE_FILES = sorted((default_data_root() / "policies").glob("*/cases/coverage.json"))
CASES = [
    pytest.param(case, id=f"{path.parent.parent.name}/{case['id']}")
    for path in CASE_FILES
    for case in json.loads(path.read_text())["cases"]
]


def test_case_files_exist() -> None:
    assert CASE_FILES, "no coverage case files were found beside the rules"


def _ids(items: list[Any]) -> list[str]:
    return sorted({item.id for item in items})


def _local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


@pytest.mark.parametrize("case", CASES)
def test_coverage_case(backend_policy: PolicyGraph, case: dict[str, Any]) -> None:
    answer: CoverageAnswer = coverage(backend_policy, question_from(case["question"]))
    expect = case["expect"]
    assert answer.determination == expect["determination"], asdict(answer)
    for key in (
        "place_of_service_required",
        "place_of_service_forbidden",
        "modifiers_required_one_of",
        "modifiers_forbidden",
        "rate_basis",
        "bill_instead",
    ):
        if key in expect:
            unqualified = [i for i in answer.billing.get(key, []) if i.when is None]
            assert _ids(unqualified) == sorted(expect[key]), key
    if "open_conditions" in expect:
        open_ids = {c.id for c in answer.conditions if c.status == "open" and c.when is None}
        assert set(expect["open_conditions"]) <= open_ids
    if "unmet_conditions" in expect:
        unmet = {c.id for c in answer.conditions if c.status == "unmet"}
        assert set(expect["unmet_conditions"]) <= unmet
    if "documentation" in expect:
        assert set(expect["documentation"]) <= {d.id for d in answer.documentation}
    if "limits" in expect:
        assert set(expect["limits"]) <= {limit.id for limit in answer.limits}
    if "rules_include" in expect:
        assert set(expect["rules_include"]) <= {_local(r) for r in answer.rules}
    if "cites" in expect:
        assert set(expect["cites"]) <= {_local(c.source) for c in answer.citations}
    if "summary_contains" in expect:
        assert expect["summary_contains"] in answer.summary, answer.summary
    if "notice" in expect:
        assert bool(answer.notices) == expect["notice"]
    assert answer.graph_revision == backend_policy.revision


@pytest.mark.parametrize("case", CASES)
def test_a_date_with_the_same_rule_versions_gets_the_same_answer(
    policy: PolicyGraph, case: dict[str, Any]
) -> None:
    """Dates of service that select the same rule versions share one evaluation; what each answer
    adds to it (notices, a coverage floor's citations, the reasons for an unknown) must not reach
    the shared one: a floor payer's sources were cited twice by the next date that shared it."""
    question = question_from(case["question"])
    model = rule_model(policy)
    code = model.code(question.code)
    payer, day = model.payer(question.payer).iri, question.date_of_service
    if code is None or not code.valid_on(day):
        pytest.skip("no such code on that day: its answer says so and evaluates no rule")
    as_of = question.as_of or date.today()
    versions = model.governing(payer, code.iri, day, as_of)
    sharing = [
        other
        for other in (day + timedelta(days=n) for n in (1, -1, 2, -2, 3, -3))
        if code.valid_on(other)
        and [v.iri for v in model.governing(payer, code.iri, other, as_of)] == [v.iri for v in versions]
    ]
    assert sharing, "a day next to a case's date should select the same rule versions"
    first = asdict(coverage(policy, question))
    again = asdict(coverage(policy, dataclasses.replace(question, date_of_service=sharing[0])))
    cited = [tuple(sorted(c.items())) for c in again["citations"]]
    assert len(cited) == len(set(cited)), "a source is cited twice"
    for answer in (first, again):
        del answer["date_of_service"], answer["notices"]  # the day's own
    assert again == first
