"""How the in-memory store starts: it refuses graph files larger than it loads in about 10 s
(recommending Oxigraph), the views of a seeded revision are built once per graph identity,
never shared with a store whose content the identity does not name, and a store seeded from the
files' start-up snapshot holds what a store seeded by parsing them holds, with a record of now."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import proposals, revisions
from payerkg.errors import StoreError
from payerkg.graph import snapshot
from payerkg.graph.dataset import default_data_root, files_hash
from payerkg.graph.rules import rule_model
from payerkg.namespaces import PK
from payerkg.services import startup
from payerkg.settings import Settings
from payerkg.stores import MemoryStore, Store, new_dataset
from tests.cli.runner import run_cli

EDITS = Path(__file__).resolve().parents[1] / "editing"

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


def _snapshot_of_the_files(folder: Path) -> Settings:
    """A start-up snapshot of the shipped files saved in ``folder``, and settings that read it."""
    root = default_data_root().resolve()
    snapshot.shipped_files(folder, root, files_hash(root), startup.warm_up)
    assert list(folder.glob(f"*{snapshot.SUFFIX}"))
    return Settings(cache_dir=folder)


def _content(store: Store) -> set[str]:
    """Every statement but the revision records, canonical (blank nodes labelled by content)."""
    copy = store.oxigraph()
    assert copy is not None
    dataset = ox.Dataset(copy.native_quads(excluding=[revisions.REVISIONS_GRAPH]))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad) for quad in dataset}


def test_a_store_seeded_from_a_snapshot_holds_what_parsing_the_files_gives(tmp_path: Path) -> None:
    settings = _snapshot_of_the_files(tmp_path)
    started = datetime.now(UTC).replace(microsecond=0)
    from_snapshot, parsed = MemoryStore(), MemoryStore()
    startup.seed(from_snapshot, settings)
    revisions.seed(parsed)
    assert _content(from_snapshot) == _content(parsed)
    assert revisions.verify(from_snapshot) == []
    [record] = revisions.log(from_snapshot)
    assert datetime.fromisoformat(record.at) >= started, "revision 1 is dated when the snapshot was made"
    assert record.content_hash == revisions.log(parsed)[0].content_hash
    assert revisions.policy_at_head(from_snapshot).revision == revisions.policy_at_head(parsed).revision


def test_files_past_the_limit_are_refused_from_a_snapshot_too(tmp_path: Path) -> None:
    settings = _snapshot_of_the_files(tmp_path)
    store = MemoryStore(max_statements=1000)
    with pytest.raises(StoreError, match=r"more than 1,000 statements.*PAYERKG_STORE=oxigraph"):
        startup.seed(store, settings)
    assert store.is_empty() and revisions.head(store) is None


def test_a_revision_pinned_before_an_edit_keeps_its_content(tmp_path: Path) -> None:
    """A store seeded from a snapshot holds N-Quads until its first edit; a revision pinned
    before the edit keeps answering as it did, the store answers with the edit."""
    store = MemoryStore()
    startup.seed(store, _snapshot_of_the_files(tmp_path))
    before = revisions.policy_at_head(store)
    added = proposals.parse_rule_turtle((EDITS / "add-uhc-rpm-2027.ttl").read_text())
    revisions.commit(store, revisions.Change("add", "test", "editor", "pinned test", (), added), 1)
    after = revisions.policy_at_head(store)
    question = CoverageQuestion(payer="uhc-commercial", code="99457", date_of_service=date(2027, 3, 1))
    assert coverage(before, question).determination == "unknown"
    assert coverage(after, question).determination == "covered"
    assert revisions.verify(store) == []
