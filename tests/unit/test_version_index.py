"""The local version index (graph/version_index.py) stands in for a store's per (payer, code)
reads: every candidate it gives must be the store's, at the revision it was built at and at every
later one (edits and rollbacks since applied from the revision log), and a file it cannot trust
is never used."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from rdflib import Namespace, URIRef

from payerkg.api.app import create_app
from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion, coverage
from payerkg.editing import proposals, revisions
from payerkg.errors import StoreError
from payerkg.graph import version_index
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import Candidate, RuleModel, rule_model
from payerkg.services.local_index import LocalIndex
from payerkg.settings import Settings
from payerkg.stores import Store
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.stores.remote import RemoteStore
from tests.cli.runner import run_cli
from tests.oxigraph_server import oxigraph_server

EDITS = Path(__file__).parents[1] / "editing"
SOURCE = "oxigraph:test"
ADDED = URIRef("https://w3id.org/payerkg/rule-version/test-uhc-rpm-2027")
CPT = Namespace("https://w3id.org/payerkg/code/cpt/")
SAMPLED_CODES = [CPT[code] for code in ("99213", "99457", "98000", "90834", "98016", "99091", "98980")]
UHC = URIRef("https://w3id.org/payerkg/payer/uhc-commercial")


@pytest.fixture
def store() -> Iterator[OxigraphStore]:
    """The shipped graph in an embedded store read per (payer, code), as past BULK_READ_LIMIT."""
    seeded = OxigraphStore(None)
    revisions.seed(seeded)
    seeded.bulk_reads = False
    yield seeded
    seeded.close()


def _pairs(policy: PolicyGraph) -> list[tuple[URIRef, URIRef]]:
    payers = sorted(row["payer"] for row in policy.select("rule-payers"))
    codes = sorted(row["code"] for row in policy.select("procedure-codes"))
    return [(payer, code) for payer in payers for code in codes]


def _read(model: RuleModel, payer: URIRef, code: URIRef) -> list[Candidate]:
    return sorted(model._own(payer, code), key=lambda c: str(c.iri))


def _indexed_model(store: Store, path: Path) -> RuleModel:
    """A rule model of the store's head that reads the index at ``path`` (which must serve it)."""
    policy = revisions.policy_at_head(store)
    index = version_index.open_index(path, SOURCE, revisions.log(store), policy.revision_number)
    assert index is not None
    model = RuleModel(policy)
    model.use_index(index)
    return model


def _assert_same_candidates(store: OxigraphStore, path: Path) -> int:
    """Every (payer, code)'s candidates, read from the index and from the store; the count of
    pairs with any (so that a test of an empty index cannot pass)."""
    indexed = _indexed_model(store, path)
    read = RuleModel(revisions.policy_at_head(store))
    pairs = _pairs(read.policy)
    for payer, code in pairs:
        assert _read(indexed, payer, code) == _read(read, payer, code), (payer, code)
    assert indexed.index is not None, "the index stopped being read"
    return sum(1 for payer, code in pairs if _read(read, payer, code))


def _commit(store: Store, name: str) -> None:
    added = proposals.parse_rule_turtle((EDITS / name).read_text(encoding="utf-8"))
    number = revisions.head(store).number  # type: ignore[union-attr]
    revisions.commit(store, revisions.Change("add", "test", "editor", "index test", (), added), number)


def test_the_index_gives_every_candidate_the_store_gives(store: OxigraphStore, tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    assert _assert_same_candidates(store, path) > 1000


@pytest.mark.process
def test_the_index_of_a_sparql_server_gives_the_servers_candidates(tmp_path: Path) -> None:
    """Read over SPARQL (a batch of payers a query), then kept current through an edit."""
    with oxigraph_server(tmp_path / "server") as server:
        store = RemoteStore(server.query_url, server.update_url)
        revisions.seed(store)
        path = tmp_path / "versions.sqlite"
        version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
        _commit(store, "add-uhc-rpm-2027.ttl")
        indexed, read = _indexed_model(store, path), RuleModel(revisions.policy_at_head(store))
        payers = sorted(row["payer"] for row in read.policy.select("rule-payers"))
        found = 0
        for payer in payers:
            for code in SAMPLED_CODES:
                candidates = _read(read, payer, code)
                assert _read(indexed, payer, code) == candidates, (payer, code)
                found += bool(candidates)
        assert found > 100
        assert ADDED in {c.iri for c in _read(indexed, UHC, CPT["99457"])}
        store.close()


def test_answers_read_from_the_index_are_the_stores(store: OxigraphStore, tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    read = revisions.policy_at_head(store)
    indexed = revisions.policy_at_head(store)
    index = version_index.open_index(path, SOURCE, revisions.log(store), indexed.revision_number)
    assert index is not None
    rule_model(indexed).use_index(index)
    payers = sorted(str(row["id"]) for row in read.select("payers"))
    codes = ["99213", "98000", "99457", "G2012", "90834", "98016", "99091"]
    days = (date(2025, 6, 1), date(2031, 1, 1))
    asked = [
        CoverageQuestion(payer=p, code=c, date_of_service=d, patient_location=where)
        for p in payers
        for c in codes
        for d in days
        for where in (None, "home")
    ]
    determinations = set()
    for question in asked:
        expected, answer = coverage(read, question), coverage(indexed, question)
        assert asdict(answer) == asdict(expected), question
        determinations.add(answer.determination)
    assert {"conditional", "not-covered", "unknown"} <= determinations
    assert rule_model(indexed).index is index


def test_edits_and_rollbacks_after_the_build_are_read_from_the_revision_log(
    store: OxigraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    _commit(store, "add-uhc-rpm-2027.ttl")  # revision 2: a new version after the build
    _commit(store, "revise-uhc-rpm-2027.ttl")  # revision 3: one revising it
    _assert_same_candidates(store, path)
    rpm = CPT["99457"]
    assert ADDED in {c.iri for c in _read(_indexed_model(store, path), UHC, rpm)}

    revisions.commit(store, revisions.Change("rollback", "test", "editor", "index test", withdraws=2), 3)
    _assert_same_candidates(store, path)  # revision 4: revision 2's version withdrawn
    assert ADDED not in {c.iri for c in _read(_indexed_model(store, path), UHC, rpm)}

    # Built again at revision 4: the edit in force then is in the file; a rollback of it later
    # withdraws it from the file's rows.
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    _assert_same_candidates(store, path)
    revisions.commit(store, revisions.Change("rollback", "test", "editor", "index test", withdraws=3), 4)
    _assert_same_candidates(store, path)


def test_an_index_read_while_a_change_is_committed_is_not_written(
    store: OxigraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is read live: rows read across a commit would hold an edit the file does not
    name, which a later rollback would then not take out."""
    path = tmp_path / "versions.sqlite"
    policy, records = revisions.policy_at_head(store), revisions.log(store)
    reads = policy.select_each

    def committing_on_the_first_read(*args: object) -> object:
        if revisions.head(store).number == 1:  # type: ignore[union-attr]
            _commit(store, "add-uhc-rpm-2027.ttl")
        return reads(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(policy, "select_each", committing_on_the_first_read)
    with pytest.raises(StoreError, match="no longer the store's head"):
        version_index.build(policy, path, SOURCE, records)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="no longer the store's head"):  # from the start, now
        version_index.build(policy, path, SOURCE, revisions.log(store))
    assert list(tmp_path.iterdir()) == []


def test_a_service_build_refused_by_a_commit_is_built_again_from_the_newer_revision(
    store: OxigraphStore, tmp_path: Path
) -> None:
    indexed = LocalIndex(store, tmp_path, SOURCE)
    first = revisions.policy_at_head(store)
    _commit(store, "add-uhc-rpm-2027.ttl")  # while the service's builder read revision 1
    second = revisions.policy_at_head(store)
    indexed._latest = second  # what loading revision 2 records (attach_or_build)
    indexed._build(first)
    assert rule_model(second).index is not None
    assert indexed.path.is_file() and _assert_same_candidates(store, indexed.path) > 1000


def test_an_index_of_another_store_or_revision_is_not_used(store: OxigraphStore, tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    records = revisions.log(store)
    assert version_index.open_index(path, SOURCE, records, 1) is not None
    assert version_index.open_index(path, "oxigraph:another", records, 1) is None
    other = OxigraphStore(None)
    revisions.seed(other)  # the same files seeded again: another lineage (its own record hash)
    assert version_index.open_index(path, SOURCE, revisions.log(other), 1) is None
    other.close()
    _commit(store, "add-uhc-rpm-2027.ttl")
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    assert version_index.open_index(path, SOURCE, revisions.log(store), 1) is None  # built later


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_index_is_not_used(store: OxigraphStore, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    whole = path.read_bytes()
    path.write_bytes(
        {"garbage": b"x" * len(whole), "truncated": whole[: len(whole) // 3], "empty": b""}[damage]
    )
    assert version_index.open_index(path, SOURCE, revisions.log(store), 1) is None


def test_an_index_others_may_write_is_not_used(store: OxigraphStore, tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    assert version_index.open_index(path, SOURCE, revisions.log(store), 1) is not None
    path.chmod(0o664)
    assert version_index.open_index(path, SOURCE, revisions.log(store), 1) is None


def test_an_index_failing_after_it_was_opened_gives_way_to_the_store(
    store: OxigraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "versions.sqlite"
    version_index.build(revisions.policy_at_head(store), path, SOURCE, revisions.log(store))
    indexed = _indexed_model(store, path)
    read = RuleModel(revisions.policy_at_head(store))
    assert indexed.index is not None
    indexed.index.close()  # as a file that fails mid-way: every read of it now raises
    code = CPT["99213"]
    medicare = URIRef("https://w3id.org/payerkg/payer/medicare")
    assert _read(indexed, medicare, code) == _read(read, medicare, code) != []
    assert indexed.index is None


def test_builders_racing_leave_one_whole_index(store: OxigraphStore, tmp_path: Path) -> None:
    path = tmp_path / "versions.sqlite"
    policy, records = revisions.policy_at_head(store), revisions.log(store)
    builders = [
        threading.Thread(target=version_index.build, args=(policy, path, SOURCE, records)) for _ in range(4)
    ]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert _assert_same_candidates(store, path) > 1000


def test_a_service_builds_the_index_and_answers_from_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="payerkg.store")
    store_path = tmp_path / "store"
    settings = Settings(
        store="oxigraph", store_path=store_path, cache_dir=tmp_path / "cache", anonymous_role="integrator"
    )
    store = OxigraphStore(store_path)
    revisions.seed(store)
    store.bulk_reads = False  # as past BULK_READ_LIMIT statements
    app = create_app(settings, store=store)
    indexed: LocalIndex = app.state.local_index
    assert indexed.builder is not None
    indexed.builder.join(timeout=60)
    policy = app.state.served.current()
    assert rule_model(policy).index is not None
    assert "built the local version index of revision 1" in caplog.text
    url = "/coverage?payer=medicare&code=99213&date=2025-06-01&patient_location=home"
    with TestClient(app) as client:
        answer = client.get(url).json()
    day = date(2025, 6, 1)
    question = CoverageQuestion(payer="medicare", code="99213", date_of_service=day, patient_location="home")
    read = coverage(revisions.policy_at_head(store), question)  # a graph of its own: read from the store
    assert answer == TypeAdapter(CoverageAnswer).dump_python(read, mode="json")
    assert answer["determination"] != "unknown"
    store.close()


def test_the_cli_builds_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_path, cache = tmp_path / "store", tmp_path / "cache"
    seeded = OxigraphStore(store_path)
    revisions.seed(seeded)
    seeded.close()
    monkeypatch.setenv("PAYERKG_STORE", "oxigraph")
    monkeypatch.setenv("PAYERKG_STORE_PATH", str(store_path))
    monkeypatch.setenv("PAYERKG_CACHE_DIR", str(cache))
    result = run_cli("store", "index")
    assert result.returncode == 0, result.stderr
    assert "indexed revision 1" in result.stdout
    assert [p.suffix for p in cache.iterdir()] == [".sqlite"]
    monkeypatch.setenv("PAYERKG_SNAPSHOTS", "false")
    refused = run_cli("store", "index")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "no cache folder" in refused.stderr
    monkeypatch.setenv("PAYERKG_STORE", "memory")
    refused = run_cli("store", "index")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "PAYERKG_STORE is memory" in refused.stderr
