"""The graph at a revision (PolicyGraph), and the ontology, shapes and policy files that seed it,
one named graph per file."""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Identifier

from payerkg.errors import DataFileError, StoreError
from payerkg.graph.queries import Row
from payerkg.namespaces import FILE_GRAPH
from payerkg.stores import MemoryStore, Store, new_dataset

V = TypeVar("V")


class SavedView(Protocol):
    """A view a start-up snapshot can keep (``graph/snapshot.py``): its state as data, and the
    view again from that state on the same revision."""

    def saved_state(self) -> object: ...

    @classmethod
    def restore(cls, policy: PolicyGraph, state: object) -> SavedView: ...


def view_name(kind: object) -> str:
    """The name a view's state is saved under: its class's module and name."""
    return f"{getattr(kind, '__module__', '')}.{getattr(kind, '__qualname__', repr(kind))}"


GRAPH_FOLDERS = ("ontology", "shapes", "policies")
CASE_FOLDER = "cases"


def default_data_root() -> Path:
    """The folder holding ontology/, shapes/ and policies/.

    An installed wheel carries them in ``payerkg/data``; a source checkout has them at its top.
    """
    packaged = Path(str(resources.files("payerkg"))) / "data"
    if (packaged / "ontology").is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def graph_files(root: Path) -> list[Path]:
    """Every Turtle file of the graph under ``root``, in a stable order; test cases excluded."""
    files: list[Path] = []
    for folder in GRAPH_FOLDERS:
        found: list[Path] = []
        for parent, folders, names in os.walk(root / folder, followlinks=True):
            folders[:] = [name for name in folders if name != CASE_FOLDER]  # not walked at all
            found.extend(Path(parent, name) for name in names if name.endswith(".ttl"))
        files.extend(sorted(found))
    return files


def syntax_error_position(text: str, error: BadSyntax) -> tuple[int, int]:
    r"""The line and column (from 1) of a Turtle syntax error: rdflib's BadSyntax keeps only the
    character offset.

    >>> syntax_error_position("a\nbc", BadSyntax(None, 0, "a\nbc", 3, "?"))
    (2, 2)
    """
    offset = error._i
    return text[:offset].count("\n") + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def parse_turtle(path: Path, label: str | None = None) -> tuple[Graph, bytes]:
    """Parse one Turtle file, returning the graph and the bytes read.

    A syntax error becomes a DataFileError with file and line. The graph is shared by every call
    with the same content (one parse per process: tests and commands seed many stores from the
    same files), so callers copy from it and never change it.
    """
    name = label or str(path)
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(name, f"cannot read file ({exc.__class__.__name__})") from exc
    return _parsed(text, path.resolve().as_uri(), name), content


@functools.lru_cache(maxsize=512)
def _parsed(text: str, base: str, name: str) -> Graph:
    if "\x00" in text:
        raise DataFileError(
            name, "the file contains a NUL character", line=text[: text.index("\x00")].count("\n") + 1
        )
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=base)
    except BadSyntax as exc:
        line, _ = syntax_error_position(text, exc)
        raise DataFileError(name, f"Turtle syntax error: {exc._why}", line=line) from exc
    except Exception as exc:  # rdflib raises several unrelated types for bad input
        raise DataFileError(name, f"Turtle syntax error: {exc}") from exc
    if holds_nul(graph):
        raise DataFileError(name, "the file contains a NUL character (escaped as \\u0000)")
    return graph


def holds_nul(graph: Graph) -> bool:
    """Whether any term of the graph contains a NUL character (Turtle may escape one as
    ``\\u0000`` in a string or an IRI); payerkg refuses documents that do.

    >>> holds_nul(Graph().parse(data='<urn:a> <urn:b> "x\\\\u0000y" .', format="turtle"))
    True
    """
    return any("\x00" in str(term) for triple in graph for term in triple)


def graph_identity(number: int, content_hash: str) -> str:
    """What every answer names its graph by: the revision number and the content hash of the
    policy graphs, e.g. ``1-b27cff60f1bc``. The same data gives the same content hash, on any
    start, store or replica; the files alone are revision 1, as in a store seeded from them.

    >>> graph_identity(3, "0123456789ab")
    '3-0123456789ab'
    """
    return f"{number}-{content_hash}"


class SharedViews:
    """Views built from graphs whose content never changes and is exactly what their revision log
    says (``Store.frozen`` and ``Store.only_revisions``), shared by every
    graph of the same identity in this process: the identity (revision number and content hash)
    names the content, so each such view is built once, not once per store seeded from the same
    files or per replica of a revision. Only views that read nothing but the policy content opt
    in (``content_only = True``: not the audit trail, which two stores with the same content may
    tell differently). The views of the newest ``KEPT`` identities are kept, and so are the
    states of the views a start-up snapshot saved for them (``offer``), each restored when first
    asked for instead of being built."""

    KEPT = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[str, dict[object, object]] = {}
        self._saved: dict[str, dict[str, Callable[[], object]]] = {}

    def offer(self, revision: str, saved: dict[str, Callable[[], object]]) -> None:
        """The saved states (readers, by ``view_name``) of views of the content ``revision`` names."""
        with self._lock:
            self._saved.pop(revision, None)
            self._saved[revision] = dict(saved)  # newest last
            while len(self._saved) > self.KEPT:
                del self._saved[next(iter(self._saved))]

    def get(
        self, kind: Callable[[PolicyGraph], V], policy: PolicyGraph, saved: Callable[[], object] | None
    ) -> V:
        """``kind``'s view of ``policy``'s identity: the one built before, else restored from
        ``saved`` or an offered state, else built."""
        with self._lock:
            found = self._views.get(policy.revision, {}).get(kind)
            if found is None and saved is None:
                saved = self._saved.get(policy.revision, {}).pop(view_name(kind), None)
        if found is None:
            found = built(kind, policy, saved)  # outside the lock: one view may be built from another
            with self._lock:
                views = self._views.pop(policy.revision, {})
                found = views.setdefault(kind, found)
                self._views[policy.revision] = views  # newest last
                while len(self._views) > self.KEPT:
                    del self._views[next(iter(self._views))]
        return cast(V, found)


def built(kind: Callable[[PolicyGraph], V], policy: PolicyGraph, saved: Callable[[], object] | None) -> V:
    """``kind``'s view of ``policy``: restored from ``saved`` (the state a snapshot kept) when the
    kind can be restored, else built."""
    restore = getattr(kind, "restore", None)
    if saved is not None and restore is not None:
        return cast(V, restore(policy, saved()))
    return kind(policy)


SHARED_VIEWS = SharedViews()


@dataclass
class PolicyGraph:
    """The graph at one revision: the store it lives in, derived views built once (``view``),
    and the revision they were built from. A new revision is a new PolicyGraph.

    ``revision`` is the graph's identity (``graph_identity``): revision number and content hash."""

    store: Store
    revision: str = ""
    revision_number: int = 0
    content_hash: str = ""
    _views: dict[Callable[[PolicyGraph], Any], Any] = field(default_factory=dict, repr=False)
    # Re-entrant: one view may be built from another (compiled shapes from the rule model).
    _views_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _dataset: Dataset | None = field(default=None, repr=False)
    saved_views: dict[str, Callable[[], object]] = field(default_factory=dict, repr=False)
    """Views saved in a start-up snapshot of this revision: a reader of each one's state, called
    when the view is first asked for."""

    def view(self, kind: Callable[[PolicyGraph], V]) -> V:
        """The derived read-only view of this revision built by ``kind`` (a class taking the
        graph), built once: the rule model, the validation shapes, the SPARQL endpoint's graphs.
        A view saved in a snapshot of this revision is restored rather than built."""
        with self._views_lock:
            if kind not in self._views:
                saved = self.saved_views.pop(view_name(kind), None)
                if self._shares_views() and getattr(kind, "content_only", False):
                    self._views[kind] = SHARED_VIEWS.get(kind, self, saved)
                else:
                    self._views[kind] = built(kind, self, saved)
            return cast(V, self._views[kind])

    def _shares_views(self) -> bool:
        return bool(self.revision) and self.store.frozen and self.store.only_revisions

    def view_states(self) -> dict[str, object]:
        """The states of the views built so far that a snapshot can keep (``SavedView``)."""
        with self._views_lock:
            states = {name: saved() for name, saved in self.saved_views.items()}
            for kind, built in self._views.items():
                if hasattr(built, "saved_state") and hasattr(kind, "restore"):
                    states[view_name(kind)] = cast(SavedView, built).saved_state()
            return states

    def select(self, name: str, **bindings: Identifier) -> list[Row]:
        """Rows of the named query, run by the store, with RDF-term bindings."""
        return self.store.select(name, bindings)

    def select_each(self, name: str, variable: str, terms: Sequence[URIRef]) -> list[Row]:
        """The rows of the named query for each of ``terms`` bound to ``variable``, read together."""
        return self.store.select_each(name, variable, terms)

    @property
    def dataset(self) -> Dataset:
        """The whole graph as an rdflib Dataset (the store itself for the in-memory backend, a
        snapshot read once otherwise), for graph-wide work: lint, SPARQL endpoint, rule documents."""
        with self._views_lock:
            if self._dataset is None:
                self._dataset = self.store.snapshot()
            return self._dataset

    @functools.cached_property
    def files(self) -> dict[URIRef, str]:
        """The named graphs that came from files, with their path below the data root."""
        return {
            name: name.removeprefix(str(FILE_GRAPH))
            for name in sorted(self.store.graph_names())
            if name.startswith(str(FILE_GRAPH))
        }

    def graph(self, name: URIRef) -> Graph:
        """One named graph."""
        return self.store.graph(name)

    def files_describing(self, node: URIRef) -> Iterator[str]:
        """The files that hold statements about ``node``."""
        for row in self.select("graphs-describing", node=node):
            if row["graph"] in self.files:
                yield self.files[row["graph"]]


def read_files(
    root: Path | None = None, extra: Iterable[Path] = (), max_statements: int | None = None
) -> tuple[Dataset, str]:
    """Every graph file under ``root`` (plus ``extra`` files) in one Dataset, one named graph per
    file, and a hash of their content. Past ``max_statements`` (the in-memory store's limit), a
    StoreError recommending Oxigraph, raised as soon as the files read so far exceed it."""
    root = root or default_data_root()
    dataset = new_dataset()
    digest = hashlib.sha256()
    statements = 0
    for path in [*graph_files(root), *extra]:
        relpath = _relative(path, root)
        parsed, content = parse_turtle(path, relpath)
        named = dataset.graph(FILE_GRAPH[relpath])
        named += parsed
        digest.update(relpath.encode())
        digest.update(content)
        statements += len(parsed)
        if max_statements is not None and statements > max_statements:
            raise too_many_statements(max_statements)
    return dataset, digest.hexdigest()[:12]


def too_many_statements(max_statements: int) -> StoreError:
    """The in-memory store's refusal of graph files past its limit, recommending Oxigraph."""
    return StoreError(
        f"the graph files hold more than {max_statements:,} statements, more than the in-memory "
        "store starts with in about 10 s; use PAYERKG_STORE=oxigraph with PAYERKG_STORE_PATH "
        "(docs/deployment.md), or raise PAYERKG_MEMORY_MAX_STATEMENTS"
    )


def files_hash(root: Path | None = None) -> str:
    """The hash ``read_files`` gives the graph files under ``root``, without parsing them: a file
    that cannot be read counts by its error, so a later parse reports it."""
    root = root or default_data_root()
    digest = hashlib.sha256()
    for path in graph_files(root):
        digest.update(_relative(path, root).encode())
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            digest.update(repr(exc).encode())
    return digest.hexdigest()[:12]


def load_dataset(
    root: Path | None = None, extra: Iterable[Path] = (), max_statements: int | None = None
) -> PolicyGraph:
    """The graph files under ``root`` (plus ``extra`` files) in an in-memory store; queries see
    the union of the files' graphs. Revision 1 with the hash of the files' content: what a store
    seeded from the same files holds at its first revision, under the same identity, so the two
    share their views (``SharedViews``). The store is read-only; files of the same content are
    read once per process (tests and in-process commands load them again and again). Past
    ``max_statements``, refused as ``read_files`` refuses them."""
    root = root or default_data_root()
    extra = tuple(extra)
    digest = hashlib.sha256(files_hash(root).encode())
    for path in extra:
        digest.update(str(path).encode())
        try:
            digest.update(path.read_bytes())
        except OSError as exc:  # read_files reports it
            digest.update(repr(exc).encode())
    dataset, content_hash = _files_read_once(root.resolve(), extra, digest.hexdigest(), max_statements)
    return PolicyGraph(
        MemoryStore(dataset, frozen=True, only_revisions=True),
        revision=graph_identity(1, content_hash),
        revision_number=1,
        content_hash=content_hash,
    )


@functools.lru_cache(maxsize=4)
def _files_read_once(
    root: Path, extra: tuple[Path, ...], content: str, max_statements: int | None
) -> tuple[Dataset, str]:
    """``read_files``, once per content (the key); no store changes the Dataset it is given."""
    return read_files(root, extra, max_statements)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
