"""A store too big to read whole is read per (payer, code) when first asked (the rule model's lazy
path); its answers must be those of the same graph read whole at start-up (the bulk path)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date

import pytest
from rdflib import URIRef

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.graph.rules import RuleModel, rule_model
from payerkg.stores.oxigraph import OxigraphStore

DATES = (date(2025, 6, 1), date(2031, 1, 1))
"""A day most rules are in force, and one past every payer's horizon (its notice is read then)."""


@pytest.fixture(scope="module")
def bulk_and_lazy() -> Iterator[tuple[PolicyGraph, PolicyGraph]]:
    """The shipped graph in one embedded store, read by one rule model whole and by another lazily."""
    store = OxigraphStore(None)
    revisions.seed(store)
    bulk = revisions.policy_at_head(store)
    rule_model(bulk)
    store.bulk_reads = False  # as past BULK_READ_LIMIT statements
    lazy = revisions.policy_at_head(store)
    assert rule_model(bulk).complete and not rule_model(lazy).complete
    yield bulk, lazy
    store.close()


def _codes(policy: PolicyGraph, n: int) -> list[str]:
    """The notations of the ``n`` codes the most payers have rules for, and one no rule names."""
    rows = policy.select("rule-version-index")
    payers = Counter(row["code"] for row in {(r["payer"], r["code"]): r for r in rows}.values())
    notations = {r["code"]: str(r["notation"]) for r in policy.select("procedure-codes")}
    ruled = [notations[code] for code, _ in sorted(payers.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]]
    unruled = sorted(set(notations.values()) - {notations[c] for c in payers})[:1]
    return ruled + unruled


def test_lazy_reads_give_the_answers_of_bulk_reads(bulk_and_lazy: tuple[PolicyGraph, PolicyGraph]) -> None:
    bulk, lazy = bulk_and_lazy
    payers = sorted(str(row["id"]) for row in bulk.select("payers"))
    codes = _codes(bulk, 8)
    asked = [
        CoverageQuestion(payer=payer, code=code, date_of_service=day)
        for payer in payers
        for code in codes
        for day in DATES
    ]
    notices = 0
    for question in asked:
        expected = asdict(coverage(bulk, question))
        assert asdict(coverage(lazy, question)) == expected, question
        notices += any("last change in this payer's rules" in n for n in expected["notices"])
    assert notices, "some answer should pass a payer's horizon"


def test_askers_side_by_side_get_the_answers_of_one_asker(
    bulk_and_lazy: tuple[PolicyGraph, PolicyGraph],
) -> None:
    """The service answers concurrent requests in threads (the rate of cold answers on a large store
    rests on it: docs/benchmarks-scale.md): a rule model read per (payer, code) when first asked
    must give every asker the answer of the whole graph, however their first reads interleave."""
    bulk, lazy = bulk_and_lazy
    fresh = revisions.policy_at_head(lazy.store)
    assert rule_model(fresh) is not rule_model(lazy), "the askers must find nothing read yet"
    payers = sorted(str(row["id"]) for row in bulk.select("payers"))
    asked = [
        CoverageQuestion(payer=payer, code=code, date_of_service=day)
        for code in _codes(bulk, 8)
        for day in DATES
        for payer in payers
    ]
    with ThreadPoolExecutor(8) as askers:
        answers = list(askers.map(lambda question: asdict(coverage(fresh, question)), asked))
    for question, answer in zip(asked, answers, strict=True):
        assert answer == asdict(coverage(bulk, question)), question


def test_lazy_candidates_are_the_bulk_index(bulk_and_lazy: tuple[PolicyGraph, PolicyGraph]) -> None:
    bulk, lazy = bulk_and_lazy
    pairs = {(row["payer"], row["code"]) for row in bulk.select("rule-version-index")}
    assert pairs
    for payer, code in sorted(pairs):
        assert isinstance(payer, URIRef) and isinstance(code, URIRef)
        assert rule_model(lazy).candidates(payer, code) == rule_model(bulk).candidates(payer, code), (
            payer,
            code,
        )


def test_the_horizon_is_read_only_when_it_may_be_passed(
    bulk_and_lazy: tuple[PolicyGraph, PolicyGraph],
) -> None:
    """``horizon_reached`` skips the payer-wide read when a candidate outlasts the day, and says
    what the payer-wide horizon says on every day, the horizon itself included."""
    bulk, lazy = bulk_and_lazy
    model = rule_model(lazy)
    pairs = sorted({(row["payer"], row["code"]) for row in bulk.select("rule-version-index")})
    for payer, code in pairs:
        horizon = rule_model(bulk).horizon(payer)
        days = [*DATES, *([horizon] if horizon is not None else [])]
        for day in days:
            expected = horizon if horizon is not None and day >= horizon else None
            assert model.horizon_reached(payer, code, day) == expected, (payer, code, day)


def test_look_ups_read_at_once_are_those_read_one_by_one() -> None:
    """``read_look_ups`` (what a start-up snapshot keeps) reads payers, horizons, codes and named
    terms in a few queries; each must be what the one-at-a-time reads give."""
    bulk = load_dataset()
    at_once, one_by_one = RuleModel(bulk), RuleModel(bulk)
    at_once.read_look_ups()
    payers = sorted(str(row["id"]) for row in bulk.select("payers"))
    assert len(payers) > 10
    horizons = set()
    for payer_id in payers:
        payer = one_by_one.payer(payer_id)
        assert at_once.payer(payer_id) == payer
        assert at_once.horizon(payer.iri) == one_by_one.horizon(payer.iri), payer_id
        horizons.add(one_by_one.horizon(payer.iri))
    assert len(horizons) > 1
    notations = sorted({str(row["notation"]) for row in bulk.select("procedure-codes")})
    for notation in notations:
        assert at_once.code(notation) == one_by_one.code(notation), notation
    named = [term for term in at_once.terms.cache if isinstance(term, URIRef)]
    assert len(named) > len(notations)
    for term in named:
        assert at_once.terms.statements(term) == one_by_one.terms.statements(term), term
