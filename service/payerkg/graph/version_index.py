"""The local version index of a store too big to read whole: for each (payer, target) the active
rule versions with the dates that decide when they govern, in a SQLite file of the cache folder.

Past ``BULK_READ_LIMIT`` statements, or on a SPARQL server, the rule model reads a payer's
candidates for a code when first asked (``payer-code-index.rq``). At 10^7 statements that read
looks up each of the payer's versions in the store's indexes, 5-7 ms of CPU and most of a cold
answer (docs/benchmarks-scale.md); the file answers it in tens of microseconds.

The file holds the versions of the revision it was read at. A later revision of the same store
differs from it only by edits (an edit adds new subjects only, in a graph of its own; a rollback
withdraws an edit whole), so the index of a later revision is the file, plus the versions of the
edits in force now and not then (read from their records in the revision log), less those of the
edits in force then and not now. A file of another lineage (its revision's record is not in the
store's log: a store seeded again), of another format or query, one that cannot be read, or one
that another user owns or may write is not used. A new one is written to a temporary name and
moved into place, so that readers see the old file or the new one and builders racing each leave
a whole file; rows read while a change was committed are not written (the store is read live).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from payerkg.editing.revisions import RevisionRecord, edits_in_force, head
from payerkg.errors import StoreError
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.queries import Row, query_text, select
from payerkg.graph.rules import literal_date
from payerkg.graph.snapshot import private, replace_file
from payerkg.namespaces import PK

FORMAT = 1
PAYERS_PER_READ = 50
"""Payers read per query while building: one round trip each on a server, each payer's versions
still read from its own index range (``VALUES`` opens the query)."""
SUFFIX = ".versions.sqlite"


@dataclass(frozen=True)
class IndexedVersion:
    """A rule version as the index holds it: what decides when it governs."""

    iri: URIRef
    start: date
    end: date | None
    known: date | None


@dataclass(frozen=True)
class BuiltAt:
    """The revision an index file was read at: its store, number, record hash and edits in force."""

    source: str
    number: int
    record_hash: str
    edits: frozenset[int]


Key = tuple[URIRef, URIRef]
"""(payer, target): a payer's versions applying to one code or code group."""


class VersionIndex:
    """The versions of one revision by (payer, target): the file's, with the edits since applied."""

    def __init__(
        self,
        db: sqlite3.Connection,
        built: BuiltAt,
        added: dict[Key, list[IndexedVersion]],
        withdrawn: frozenset[URIRef],
    ) -> None:
        self.built = built
        self._db = db
        self._terms: dict[str, int] = dict(db.execute("SELECT iri, id FROM term").fetchall())
        self._added = added
        self._withdrawn = withdrawn
        self._lock = threading.Lock()  # one connection, shared by the service's threads

    def versions(self, payer: URIRef, targets: Sequence[URIRef]) -> list[IndexedVersion] | None:
        """The payer's versions applying to any of ``targets``, each once; None if the file fails
        now (truncated, corrupt, removed: the caller reads the store instead)."""
        found: dict[URIRef, IndexedVersion] = {}
        payer_id = self._terms.get(str(payer))
        target_ids = [t for t in (self._terms.get(str(target)) for target in targets) if t is not None]
        if payer_id is not None and target_ids:
            marks = ",".join("?" * len(target_ids))
            read = f"SELECT iri, start, end_, known FROM version WHERE payer = ? AND target IN ({marks})"
            try:
                with self._lock:
                    rows = self._db.execute(read, (payer_id, *target_ids)).fetchall()
            except sqlite3.Error:
                return None
            for iri, start, end, known in rows:
                iri = URIRef(iri)
                if iri not in self._withdrawn:
                    found[iri] = IndexedVersion(iri, _day(start), _maybe_day(end), _maybe_day(known))
        for target in targets:
            for added in self._added.get((payer, target), ()):
                found[added.iri] = added
        return list(found.values())

    def close(self) -> None:
        with self._lock:
            self._db.close()


def index_path(folder: Path, source: str) -> Path:
    """The index file of the store ``source`` (``oxigraph:<folder>``, ``remote:<query url>``)."""
    return folder / f"{hashlib.sha256(source.encode()).hexdigest()[:32]}{SUFFIX}"


def build(policy: PolicyGraph, path: Path, source: str, records: list[RevisionRecord]) -> None:
    """Read every active rule version of ``policy`` (a store's revision whose log is ``records``)
    and write the index file at ``path``: whole, or not at all (OSError if it cannot be written;
    StoreError if ``policy`` is not, or stops being, the store's head while it is read)."""
    number = policy.revision_number
    record = next(r for r in records if r.number == number)
    built = BuiltAt(source, number, record.hash, frozenset(r.number for r in edits_in_force(records, number)))
    _refuse_unless_head(policy, record)
    payers = sorted({row["payer"] for row in policy.select("rule-payers")}, key=str)
    rows = (
        row
        for start in range(0, len(payers), PAYERS_PER_READ)
        for row in policy.select_each("version-targets", "payer", payers[start : start + PAYERS_PER_READ])
    )
    try:
        content = _database(built, rows)
    except sqlite3.Error as error:  # out of memory, as any other file not written
        raise OSError(f"{path}: {error}") from error
    _refuse_unless_head(policy, record)  # the rows were read while it was the head
    if not replace_file(path.parent, path.name, content):
        raise OSError(f"{path.parent} cannot be written")


def _refuse_unless_head(policy: PolicyGraph, record: RevisionRecord) -> None:
    """StoreError unless ``record`` is the head of the store ``policy`` reads: an Oxigraph or
    remote store is read live, so rows read while a change was committed would hold versions of
    an edit the file does not name (and a later rollback of it would not take them out)."""
    current = head(policy.store)
    if current is None or current.hash != record.hash:
        raise StoreError(
            f"revision {record.number} is no longer the store's head (a change was committed); "
            "build the version index again"
        )


def open_index(path: Path, source: str, records: list[RevisionRecord], number: int) -> VersionIndex | None:
    """The index of revision ``number`` of the store ``source`` whose log is ``records``, from the
    file at ``path``; None when there is none this revision can use."""
    try:
        if not private(path.stat()):  # another user could have written what answers would say
            return None
    except OSError:  # no index yet
        return None
    db = None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        index = _opened(db, source, records, number)
    except (sqlite3.Error, ValueError, TypeError):  # not an index, or not one written here
        index = None
    if index is None and db is not None:
        db.close()
    return index


def _opened(
    db: sqlite3.Connection, source: str, records: list[RevisionRecord], number: int
) -> VersionIndex | None:
    found = db.execute("SELECT format, reads, source, number, record_hash, edits FROM built").fetchall()
    if len(found) != 1:
        return None
    file_format, reads, built_source, built_number, record_hash, edits = found[0]
    if (file_format, reads, built_source) != (FORMAT, _reads(), source):
        return None
    if not any(r.number == built_number and r.hash == record_hash for r in records):
        return None  # another lineage: the store was seeded again
    if built_number > number:
        return None  # read at a later revision than this one
    built = BuiltAt(source, built_number, record_hash, frozenset(json.loads(edits)))
    now = {r.number: r for r in edits_in_force(records, number)}
    added: dict[Key, list[IndexedVersion]] = defaultdict(list)
    for record in (r for n, r in now.items() if n not in built.edits):
        for key, indexed in _versions_of(record):
            added[key].append(indexed)
    gone = [r for r in records if r.number in built.edits and r.number not in now]
    withdrawn = frozenset(
        v for record in gone for v in _edit_graph(record).subjects(RDF.type, PK.RuleVersion)
    )
    return VersionIndex(db, built, dict(added), frozenset(v for v in withdrawn if isinstance(v, URIRef)))


def _database(built: BuiltAt, rows: Iterable[Row]) -> bytes:
    """The index file's content: built in memory, so that it is written in one step."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(
            """
            CREATE TABLE built (format INTEGER, reads TEXT, source TEXT, number INTEGER,
                                record_hash TEXT, edits TEXT);
            CREATE TABLE term (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
            CREATE TABLE version (payer INTEGER NOT NULL, target INTEGER NOT NULL, iri TEXT NOT NULL,
                                  start INTEGER NOT NULL, end_ INTEGER, known INTEGER,
                                  PRIMARY KEY (payer, target, iri)) WITHOUT ROWID;
            """
        )
        terms: dict[str, int] = {}

        def term(iri: URIRef) -> int:
            return terms.setdefault(str(iri), len(terms) + 1)

        db.executemany(
            "INSERT OR IGNORE INTO version VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    term(payer),
                    term(target),
                    str(v.iri),
                    v.start.toordinal(),
                    _ordinal(v.end),
                    _ordinal(v.known),
                )
                for (payer, target), v in _indexed(rows)
            ),
        )
        db.executemany("INSERT INTO term VALUES (?, ?)", ((n, iri) for iri, n in terms.items()))
        edits = json.dumps(sorted(built.edits))
        db.execute(
            "INSERT INTO built VALUES (?, ?, ?, ?, ?, ?)",
            (FORMAT, _reads(), built.source, built.number, built.record_hash, edits),
        )
        db.commit()
        return db.serialize()
    finally:
        db.close()


def _reads() -> str:
    """What the rows were read with: a file read by another query is not used."""
    return hashlib.sha256(query_text("version-targets").encode()).hexdigest()[:16]


def _versions_of(record: RevisionRecord) -> Iterator[tuple[Key, IndexedVersion]]:
    """The index rows of the versions one edit adds (all its statements are in its record)."""
    return _indexed(select(_edit_graph(record), "version-targets"))


def _edit_graph(record: RevisionRecord) -> Graph:
    return Graph().parse(data=record.added or "", format="nt")


def _indexed(rows: Iterable[Row]) -> Iterator[tuple[Key, IndexedVersion]]:
    for row in rows:
        start = literal_date(row["start"])
        if start is not None:  # a start that is not a date governs no day
            indexed = IndexedVersion(
                row["version"], start, literal_date(row.get("end")), literal_date(row.get("known"))
            )
            yield (row["payer"], row["target"]), indexed


def _ordinal(day: date | None) -> int | None:
    return day.toordinal() if day is not None else None


def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)


def _maybe_day(ordinal: int | None) -> date | None:
    return date.fromordinal(ordinal) if ordinal is not None else None
