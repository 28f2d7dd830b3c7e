"""/coverage over a store read per (payer, code) when first asked (a large embedded store, or any
SPARQL server): each first answer reads the store, so it is answered off the event loop, and
questions that arrive together are answered side by side. Their answers must be those of the
same graph read whole."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from payerkg.api.app import create_app
from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion
from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.services import coverage
from payerkg.settings import Settings
from payerkg.stores.oxigraph import OxigraphStore

PAYERS = ("medicare", "medicare-advantage", "uhc-commercial", "medicaid-tx", "ca-fully-insured")
CODES = ("99213", "99457", "98004", "90837", "G2012")
DAYS = ("2020-06-01", "2025-06-01", "2031-01-01")


@pytest.fixture(scope="module")
def lazy_store() -> Iterator[OxigraphStore]:
    store = OxigraphStore(None)
    revisions.seed(store)
    store.bulk_reads = False  # as past BULK_READ_LIMIT statements
    yield store
    store.close()


def test_only_a_rule_model_read_whole_answers_in_memory(
    policy: PolicyGraph, lazy_store: OxigraphStore
) -> None:
    assert coverage.answered_in_memory(policy)
    assert not coverage.answered_in_memory(revisions.policy_at_head(lazy_store))


def test_questions_asked_together_get_the_whole_graphs_answers(
    policy: PolicyGraph, lazy_store: OxigraphStore
) -> None:
    model = TypeAdapter(CoverageAnswer)
    asked = list(itertools.product(PAYERS, CODES, DAYS))
    client = TestClient(
        create_app(Settings(anonymous_role="integrator", max_concurrent_anonymous=8), store=lazy_store)
    )
    with client:

        def ask(payer: str, code: str, day: str) -> bytes:
            response = client.get("/coverage", params={"payer": payer, "code": code, "date": day})
            assert response.status_code == 200, response.text
            content: bytes = response.content
            return content

        with ThreadPoolExecutor(8) as askers:
            answers = list(askers.map(lambda question: ask(*question), asked))
        state = client.get("/coverage", params={"state": "TX", "code": "99213", "date": "2025-06-01"})
        unknown = client.get(
            "/coverage", params={"payer": "no-such-payer", "code": "99213", "date": "2025-06-01"}
        )
    for (payer, code, day), answer in zip(asked, answers, strict=True):
        expected = coverage.ask(policy, CoverageQuestion(payer, code, date.fromisoformat(day)))
        assert answer == model.dump_json(expected), (payer, code, day)
    assert state.status_code == 200, state.text
    assert state.json()["payer"] == coverage.payer_for(policy, None, "TX")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_payer")
