"""Graph revisions and the audit log they form.

A store holds the shipped policy files (one named graph each, never changed after seeding), one
named graph per accepted edit, and a revisions graph. Each accepted change writes, in the same
atomic update, its added statements and a revision record: number, time, author, role, kind,
reason, affected rules, what it added or withdrew, and a SHA-256 hash over all of that and the
previous record's hash. The records are the audit log; ``verify`` recomputes the chain.

A commit names the revision it was based on. The update only applies while that revision is
still the newest (the condition is inside the update, so it holds across API replicas sharing
one server); a writer that lost the race gets ``StaleRevision`` and nothing was written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic, to_canonical_graph
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.namespace import PROV, RDF, XSD
from rdflib.term import Node

from payerkg.errors import StaleRevision, StoreError, UnknownRevision
from payerkg.graph.dataset import PolicyGraph, graph_identity, load_dataset, read_files, too_many_statements
from payerkg.namespaces import BASE, FILE_GRAPH, PK
from payerkg.stores import MemoryStore, Store, new_dataset
from payerkg.stores.oxigraph import OxigraphStore, nquads

REVISION = Namespace(BASE + "revision/")
HEAD = REVISION["head"]
REVISIONS_GRAPH = URIRef(BASE + "graph/revisions")
EDIT_GRAPH = Namespace(BASE + "graph/edit/")


@dataclass(frozen=True)
class Change:
    """What an accepted change does: add statements (an edit) or withdraw an earlier edit."""

    kind: str  # "seed", "add" or "rollback"
    author: str
    role: str
    reason: str
    rules: tuple[URIRef, ...] = ()
    added: Graph | None = None
    withdraws: int | None = None
    content_hash: str | None = None


@dataclass
class RevisionRecord:
    number: int
    at: str
    author: str
    role: str
    kind: str
    reason: str
    nonce: str
    hash: str
    previous_hash: str | None = None
    added: str | None = None
    withdraws: int | None = None
    content_hash: str | None = None
    rules: list[str] = field(default_factory=list)

    def chained_fields(self) -> dict[str, object]:
        """Everything the record hash covers (the hash itself excluded)."""
        return {
            "number": self.number,
            "at": self.at,
            "author": self.author,
            "role": self.role,
            "kind": self.kind,
            "reason": self.reason,
            "nonce": self.nonce,
            "previous_hash": self.previous_hash,
            "added": self.added,
            "withdraws": self.withdraws,
            "content_hash": self.content_hash,
            "rules": sorted(self.rules),
        }

    def expected_hash(self) -> str:
        canonical = json.dumps(self.chained_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def view(self, audit: bool = True) -> RevisionSummary:
        """The record as shown; without ``audit``, what only admins read (author, role, reason)
        is left out."""
        shown = RevisionSummary(
            number=self.number,
            at=self.at,
            kind=self.kind,
            nonce=self.nonce,
            hash=self.hash,
            previous_hash=self.previous_hash,
            withdraws=self.withdraws,
            content_hash=self.content_hash,
            rules=sorted(self.rules),
            added_statements=len(self.added.splitlines()) if self.added else 0,
        )
        if not audit:
            return shown
        return AuditedRevision(**vars(shown), author=self.author, role=self.role, reason=self.reason)


@dataclass(frozen=True)
class RevisionSummary:
    """A revision as every reader sees it: what changed and its place in the hash chain."""

    number: int
    at: str
    kind: str
    nonce: str
    hash: str
    previous_hash: str | None
    withdraws: int | None
    content_hash: str | None
    rules: list[str]
    added_statements: int


@dataclass(frozen=True)
class AuditedRevision(RevisionSummary):
    """A revision with who made it and why: the audit log, for admins."""

    author: str
    role: str
    reason: str


@dataclass(frozen=True)
class Head:
    number: int
    hash: str
    nonce: str


def head(store: Store) -> Head | None:
    """The store's newest revision, or None for a store never seeded."""
    rows = store.select("head-revision", {})
    if not rows:
        return None
    if len(rows) > 1:
        raise StoreError("the store names more than one current revision; run `payerkg audit verify`")
    row = rows[0]
    return Head(int(row["number"]), str(row["hash"]), str(row["nonce"]))


def policy_at_head(store: Store) -> PolicyGraph:
    """The graph at the store's newest revision (seed the store first)."""
    current = head(store)
    if current is None:
        raise StoreError("the store holds no revision yet; seed it with `payerkg store seed`")
    pinned = store.pinned()
    records = [r for r in log(pinned) if r.number <= current.number]
    content = content_hash(records, current.number)
    return PolicyGraph(
        pinned,
        revision=graph_identity(current.number, content),
        revision_number=current.number,
        content_hash=content,
    )


def policy_at(store: Store, number: int) -> PolicyGraph:
    """The graph as it was at revision ``number``, in memory: what the service answered from then.
    UnknownRevision if the store has no such revision."""
    records = log(store)
    content = content_hash(records, number)
    return PolicyGraph(
        MemoryStore(graph_at(store, number, records)),
        revision=graph_identity(number, content),
        revision_number=number,
        content_hash=content,
    )


def revision_on(store: Store, day: date) -> int:
    """The revision in force at the end of ``day`` (UTC): the newest committed by then."""
    found = [r.number for r in log(store) if date.fromisoformat(r.at[:10]) <= day]
    if not found:
        raise UnknownRevision(f"the store has no revision committed on or before {day}", "at_revision")
    return max(found)


def content_hash(records: list[RevisionRecord], number: int) -> str:
    """The content hash of the policy graphs at revision ``number``: the seed's file hash, combined
    with the canonical content of every edit in force (blank-node labels do not count, so the same
    edit made again on another start gives the same hash). The same data, the same hash."""
    if not any(r.number == number for r in records):
        raise UnknownRevision(f"the store has no revision {number}", "revision")
    seed = next((r for r in records if r.kind == "seed"), None)
    files = (seed.content_hash if seed is not None else None) or ""
    edits = sorted(_edit_digest(r.added) for r in edits_in_force(records, number))
    if not edits:
        return files
    return hashlib.sha256("\n".join([files, *edits]).encode()).hexdigest()[:12]


def edits_in_force(records: list[RevisionRecord], number: int) -> list[RevisionRecord]:
    """The edits up to revision ``number`` that no rollback up to it withdrew."""
    withdrawn = {r.withdraws for r in records if r.number <= number and r.withdraws is not None}
    return [r for r in records if r.number <= number and r.added and r.number not in withdrawn]


@functools.lru_cache(maxsize=1024)
def _edit_digest(added: str | None) -> str:
    graph = Graph().parse(data=added or "", format="nt")
    canonical = to_canonical_graph(graph).serialize(format="nt", encoding="utf-8").decode()
    lines = sorted(line for line in canonical.splitlines() if line.strip())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def seed(
    store: Store,
    root: Path | None = None,
    author: str = "payerkg store seed",
    shipped: PolicyGraph | None = None,
) -> Head:
    """Load the shipped policy files into an empty store as revision 1: ``shipped``, those files'
    graph as read before (perhaps from a start-up snapshot), else as ``load_dataset`` reads them.
    An empty in-memory store takes them as N-Quads, an embedded Oxigraph store quad for quad from
    the Oxigraph copy that graph holds; a server takes the files as ``read_files`` reads them."""
    if head(store) is not None:
        raise StoreError("the store already holds revisions; seeding twice would mix two histories")
    if isinstance(store, MemoryStore) and store.is_empty():
        files, content_hash = _shipped_store(shipped, root, store.max_statements)
        return _seed_with_nquads(store, files.nquads(), content_hash, author)
    if isinstance(store, OxigraphStore):
        files, content_hash = _shipped_store(shipped, root, store.max_statements)
        change, record = _seed_record(content_hash, author)
        store.load_with(files.oxigraph(), _record_quads(record, change))
        return Head(1, record.hash, record.nonce)
    dataset, content_hash = read_files(root, max_statements=store.max_statements)
    change, record = _seed_record(content_hash, author)
    revisions = dataset.graph(REVISIONS_GRAPH)
    for s, p, o, _ in _record_quads(record, change):
        revisions.add((s, p, o))
    store.load(dataset)
    return Head(1, record.hash, record.nonce)


def _shipped_store(
    shipped: PolicyGraph | None, root: Path | None, max_statements: int | None
) -> tuple[MemoryStore, str]:
    """The in-memory store holding the files' graph, and the hash of their content."""
    files = shipped or load_dataset(root, max_statements=max_statements)
    assert isinstance(files.store, MemoryStore), "the files' graph is read into an in-memory store"
    return files.store, files.content_hash


def _seed_record(content_hash: str, author: str) -> tuple[Change, RevisionRecord]:
    change = Change("seed", author, "admin", "load the shipped policy files", content_hash=content_hash)
    return change, _record(change, 1, None)


def _seed_with_nquads(store: MemoryStore, data: bytes, content_hash: str, author: str) -> Head:
    """Seed an empty in-memory store with the files' graph as N-Quads (one statement a line)."""
    if store.max_statements is not None and data.count(b"\n") > store.max_statements:
        raise too_many_statements(store.max_statements)
    change, record = _seed_record(content_hash, author)
    store.load_nquads(data + nquads(_record_quads(record, change)))
    store.only_revisions = True  # its graph identity names all of its content
    return Head(1, record.hash, record.nonce)


def seeded_memory_policy(root: Path | None = None) -> PolicyGraph:
    """An in-memory store holding the shipped files as revision 1."""
    store = MemoryStore()
    seed(store, root)
    return policy_at_head(store)


_COMMITTING = threading.Lock()


def commit(store: Store, change: Change, base: int) -> RevisionRecord:
    """Apply ``change`` as revision ``base + 1`` if ``base`` is still the newest, else raise
    StaleRevision. Store content and record change together or not at all.

    Commits of one process are serialized here. Oxigraph (embedded or server) does not serialize
    concurrent conditional updates, so a deployment has one writing process (docs/deployment.md);
    the condition inside the update still refuses a commit on a base that is no longer current."""
    with _COMMITTING:
        current = head(store)
        if current is None or current.number != base:
            raise StaleRevision(f"the change was based on revision {base}, the newest is {_number(current)}")
        record = _record(change, base + 1, current.hash)
        store.update(_commit_update(record, change, base))
        after = head(store)
        if after is None or after.nonce != record.nonce:
            raise StaleRevision(f"another change became revision {base + 1} first; nothing was written")
        return record


def log(store: Store) -> list[RevisionRecord]:
    """Every revision record, oldest first."""
    records: dict[int, RevisionRecord] = {}
    for row in store.select("revision-log", {}):
        number = int(row["number"])
        record = records.get(number)
        if record is None:
            record = records[number] = RevisionRecord(
                number=number,
                at=str(row["at"]),
                author=str(row["author"]),
                role=str(row["role"]),
                kind=str(row["kind"]),
                reason=str(row["reason"]),
                nonce=str(row["nonce"]),
                hash=str(row["hash"]),
                previous_hash=_text(row.get("previousHash")),
                added=_text(row.get("added")),
                withdraws=int(row["withdrawn"]) if row.get("withdrawn") is not None else None,
                content_hash=_text(row.get("contentHash")),
            )
        if row.get("rule") is not None and str(row["rule"]) not in record.rules:
            record.rules.append(str(row["rule"]))
    return [records[n] for n in sorted(records)]


def verify(store: Store) -> list[str]:
    """Problems with the audit log: a record whose hash does not match its content, a broken
    chain, a gap in the numbers, a head that is not the last record, or an edit graph whose
    content differs from what its record says it added. Empty when the log is intact."""
    problems: list[str] = []
    records = log(store)
    previous: RevisionRecord | None = None
    for expected_number, record in enumerate(records, start=1):
        where = f"revision {record.number}"
        if record.number != expected_number:
            problems.append(f"{where}: expected revision {expected_number} (a record is missing)")
        if record.expected_hash() != record.hash:
            problems.append(f"{where}: record hash does not match its content (the record was altered)")
        if record.previous_hash != (previous.hash if previous else None):
            problems.append(f"{where}: does not chain to the record before it")
        previous = record
    current = head(store)
    if records and (current is None or current.number != records[-1].number):
        problems.append(f"head: does not point at the last record (revision {records[-1].number})")
    problems.extend(_edit_graph_problems(store, records))
    return problems


def _edit_graph_problems(store: Store, records: list[RevisionRecord]) -> Iterable[str]:
    withdrawn = {r.withdraws for r in records if r.withdraws is not None}
    stored = store.graph_names()
    for record in records:
        if record.kind != "add" or not record.added:
            continue
        name = EDIT_GRAPH[str(record.number)]
        if record.number in withdrawn:
            if name in stored and len(store.graph(name)):
                yield f"revision {record.number}: withdrawn, but its statements are still in the graph"
            continue
        expected = Graph().parse(data=record.added, format="nt")
        if not isomorphic(expected, store.graph(name)):
            yield f"revision {record.number}: the graph's statements differ from what the record added"


def graph_at(store: Store, number: int, records: list[RevisionRecord] | None = None) -> Dataset:
    """The graph as it was at revision ``number``: the files, plus every edit up to it that no
    rollback up to it withdrew."""
    records = log(store) if records is None else records
    if not any(r.number == number for r in records):
        raise UnknownRevision(f"the store has no revision {number}", "revision")
    dataset = new_dataset()
    for name in store.graph_names():
        if name.startswith(str(FILE_GRAPH)):
            files = dataset.graph(name)
            files += store.graph(name)
    for record in edits_in_force(records, number):
        dataset.graph(EDIT_GRAPH[str(record.number)]).parse(data=record.added, format="nt")
    return dataset


_FILES: weakref.WeakKeyDictionary[Store, tuple[frozenset[URIRef], list[Graph]]] = weakref.WeakKeyDictionary()
_FILES_LOCK = threading.Lock()


def file_graphs(store: Store) -> list[Graph]:
    """The graphs of the shipped files in a store, read once per store: they never change after
    seeding (a store whose file graphs are not the ones read is read again)."""
    names = frozenset(name for name in store.graph_names() if name.startswith(str(FILE_GRAPH)))
    with _FILES_LOCK:
        kept = _FILES.get(store)
        if kept is not None and kept[0] == names:
            return kept[1]
    graphs = [store.graph(name) for name in sorted(names)]
    with _FILES_LOCK:
        _FILES[store] = (names, graphs)
    return graphs


class GraphViews:
    """The graph at any revision as a read-only view: the store's file graphs (read once) and each
    edit in force (parsed once). For reading a few subjects at several revisions, where
    ``graph_at`` copies the whole graph each time."""

    def __init__(self, store: Store, records: list[RevisionRecord]) -> None:
        self.records = records
        self.files = file_graphs(store)
        self.edits: dict[int, Graph] = {}

    def at(self, number: int) -> Graph:
        """The graph at revision ``number``; revision 0 is the empty graph before the first."""
        if number == 0:
            return Graph()
        if not any(r.number == number for r in self.records):
            raise UnknownRevision(f"the store has no revision {number}", "revision")
        for record in edits_in_force(self.records, number):
            if record.number not in self.edits:
                self.edits[record.number] = Graph().parse(data=record.added, format="nt")
        edits = [self.edits[record.number] for record in edits_in_force(self.records, number)]
        return ReadOnlyGraphAggregate([*self.files, *edits])


def _record(change: Change, number: int, previous_hash: str | None) -> RevisionRecord:
    record = RevisionRecord(
        number=number,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        author=change.author,
        role=change.role,
        kind=change.kind,
        reason=change.reason,
        nonce=uuid.uuid4().hex,
        hash="",
        previous_hash=previous_hash,
        added=_ntriples(change.added) if change.added is not None else None,
        withdraws=change.withdraws,
        content_hash=change.content_hash,
        rules=[str(r) for r in change.rules],
    )
    record.hash = record.expected_hash()
    return record


def _ntriples(graph: Graph) -> str:
    """N-Triples, one statement a line, sorted: the same statements always give the same text."""
    text = graph.serialize(format="nt", encoding="utf-8").decode()
    return "\n".join(sorted(line for line in text.splitlines() if line.strip())) + "\n"


def _record_quads(record: RevisionRecord, change: Change) -> list[tuple[URIRef, URIRef, Node, URIRef]]:
    node = REVISION[str(record.number)]
    values: list[tuple[URIRef, Node]] = [
        (RDF.type, PK.GraphRevision),
        (PK.revisionNumber, Literal(record.number)),
        (PROV.generatedAtTime, Literal(record.at, datatype=XSD.dateTime)),
        (PK.author, Literal(record.author)),
        (PK.authorRole, Literal(record.role)),
        (PK.changeKind, Literal(record.kind)),
        (PK.reason, Literal(record.reason)),
        (PK.commitNonce, Literal(record.nonce)),
        (PK.recordHash, Literal(record.hash)),
    ]
    if record.previous_hash is not None:
        values.append((PK.previousRecordHash, Literal(record.previous_hash)))
        values.append((PROV.wasRevisionOf, REVISION[str(record.number - 1)]))
    if record.added is not None:
        values.append((PK.addedStatements, Literal(record.added)))
    if record.withdraws is not None:
        values.append((PK.withdraws, REVISION[str(record.withdraws)]))
    if record.content_hash is not None:
        values.append((PK.contentHash, Literal(record.content_hash)))
    values.extend((PK.affectsRule, rule) for rule in change.rules)
    quads = [(node, p, o, REVISIONS_GRAPH) for p, o in values]
    quads.append((HEAD, PK.currentRevision, node, REVISIONS_GRAPH))
    return quads


def _commit_update(record: RevisionRecord, change: Change, base: int) -> str:
    """One SPARQL Update: every operation applies only while revision ``base`` is the head, the
    head moves last, and nothing is inserted twice (each WHERE has exactly one solution)."""
    node = REVISION[str(record.number)]
    at_base = (
        f"GRAPH {REVISIONS_GRAPH.n3()} {{ {HEAD.n3()} {PK.currentRevision.n3()} ?base . "
        f"?base {PK.revisionNumber.n3()} {Literal(base).n3()} }}"
    )
    operations = []
    if change.withdraws is not None:
        withdrawn = EDIT_GRAPH[str(change.withdraws)].n3()
        operations.append(
            f"DELETE {{ GRAPH {withdrawn} {{ ?s ?p ?o }} }} "
            f"WHERE {{ {at_base} GRAPH {withdrawn} {{ ?s ?p ?o }} }}"
        )
    inserts = [f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o, _ in _record_quads(record, change) if s != HEAD]
    blocks = [f"GRAPH {REVISIONS_GRAPH.n3()} {{ {' '.join(inserts)} }}"]
    if change.added is not None and len(change.added):
        triples = " ".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in change.added)
        blocks.append(f"GRAPH {EDIT_GRAPH[str(record.number)].n3()} {{ {triples} }}")
    operations.append(f"INSERT {{ {' '.join(blocks)} }} WHERE {{ {at_base} }}")
    operations.append(
        f"DELETE {{ GRAPH {REVISIONS_GRAPH.n3()} {{ {HEAD.n3()} {PK.currentRevision.n3()} ?base }} }} "
        f"INSERT {{ GRAPH {REVISIONS_GRAPH.n3()} {{ {HEAD.n3()} {PK.currentRevision.n3()} {node.n3()} }} }} "
        f"WHERE {{ {at_base} }}"
    )
    return " ;\n".join(operations)


def _number(current: Head | None) -> str:
    return str(current.number) if current else "none"


def _text(value: object) -> str | None:
    return str(value) if value is not None else None
