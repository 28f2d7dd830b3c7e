"""How the in-memory store starts: it refuses graph files larger than it loads in about 10 s
(recommending Oxigraph), and the views of a seeded revision are built once per graph identity,
never shared with a store whose content the identity does not name."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Literal, URIRef

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.errors import StoreError
from payerkg.graph.rules import rule_model
from payerkg.namespaces import PK
from payerkg.stores import MemoryStore, new_dataset
from tests.cli.runner import run_cli

QUESTION = CoverageQuestion(payer="medicare", code="99213", date_of_service=date(2025, 6, 1))


def test_files_past_the_limit_are_refused_and_nothing_is_loaded() -> None:
    store = MemoryStore(max_statements=1000)
    with pytest.raises(StoreError, match=r"more than 1,000 statements.*PAYERKG_STORE=oxigraph"):
        revisions.seed(store)
    assert store.is_empty() and revisions.head(store) is None


def test_the_service_refuses_to_start_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYERKG_MEMORY_MAX_STATEMENTS", "1000")
    ran = run_cli("serve")
    assert ran.returncode == 2
    assert "PAYERKG_STORE=oxigraph" in ran.stderr


def test_stores_seeded_alike_share_their_views() -> None:
    first, second = (revisions.seeded_memory_policy() for _ in range(2))
    assert first.revision == second.revision
    assert rule_model(first) is rule_model(second)


def test_a_store_holding_other_statements_before_its_seed_shares_nothing() -> None:
    """Same revision number and file hash, other content: its answers come from its own content."""
    extra = new_dataset()
    payer = URIRef("https://w3id.org/payerkg/payer/preloaded-test-payer")
    extra.graph(URIRef("urn:x-test:preloaded")).add((payer, PK.payerKind, Literal("test")))
    preloaded = MemoryStore(extra)
    revisions.seed(preloaded)
    policy = revisions.policy_at_head(preloaded)
    seeded = revisions.seeded_memory_policy()
    assert policy.revision == seeded.revision  # the identity cannot tell them apart
    assert rule_model(policy) is not rule_model(seeded)
    assert coverage(policy, QUESTION).determination == coverage(seeded, QUESTION).determination
