"""Start-up snapshots: the graph at a revision and the views built from it, saved in the user's
cache folder so that a one-shot command loads them instead of parsing the Turtle files and
rebuilding the rule model and the shapes.

One file per revision, named by what it is a snapshot of (``SnapshotKey``: the data folder and
the content hash of its files, or a store and its head revision). A snapshot is used only when
its header names this format, this payerkg version and this key, and the payload's SHA-256
matches; anything else (a changed file, an edit on the store, a truncated or corrupt file, a file
another version wrote) is ignored and rebuilt. Files are written to a temporary name and moved
into place with ``os.replace``, so processes that build at once each leave a whole snapshot and
the last one stays; a reader sees the old file or the new one, never half of one. A data
folder's content hash is remembered beside them by the files' status (``content_hash``), so that
a command does not read every graph file to learn which snapshot is its own.

The dataset is kept as N-Quads (read back by Oxigraph, blank-node labels kept); the views' states
(rule statements and indexes, the shapes graph) are pickles of rdflib terms and graphs and
payerkg's own dataclasses, each unpickled when its view is first asked for. Pickle runs code a
crafted file names, so a snapshot is read only if this user owns it and nobody else may write it
(the folder is made private too): it is the user's own cache, written by payerkg, as trusted as
the byte code Python caches beside its modules.
"""

from __future__ import annotations

import copyreg
import functools
import gc
import hashlib
import io
import mmap
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from pathlib import Path

import rdflib
from rdflib import BNode, Literal, URIRef

from payerkg import __version__
from payerkg.graph.dataset import SHARED_VIEWS, PolicyGraph, files_hash, graph_files, load_dataset
from payerkg.stores import MemoryStore

FORMAT = 1
MAGIC = b"payerkg-snapshot"
KEPT = 8
"""Snapshots kept in the folder: the newest, by when they were written."""
SUFFIX = ".snapshot"
PARTIAL = ".partial-"
STALE_PARTIAL_S = 600
FILES_SUFFIX = ".files"
"""A data folder's remembered content hash (``content_hash``)."""
SETTLED_S = 2


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/payerkg``, else ``~/.cache/payerkg`` (PAYERKG_CACHE_DIR overrides both)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "payerkg"


@dataclass(frozen=True)
class SnapshotKey:
    """What a snapshot is of: a source (``files:<folder>``, ``oxigraph:<folder>``) at a revision
    (a content hash, or a head revision's record hash)."""

    source: str
    revision: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.source}\n{self.revision}".encode()).hexdigest()[:32]


@dataclass
class Saved:
    """A snapshot's content: the revision's identity, its dataset and the states of its views,
    each pickled apart and read when first needed (a coverage question reads no shapes). The
    dataset is None for a store, which holds its own."""

    revision: str
    revision_number: int
    content_hash: str
    dataset: bytes | None
    views: dict[str, bytes] = field(default_factory=dict)


def shipped_files(
    folder: Path,
    root: Path,
    content_hash: str,
    warm_up: Callable[[PolicyGraph], object],
    max_statements: int | None = None,
) -> PolicyGraph:
    """The graph files under ``root`` (whose ``files_hash`` is ``content_hash``) as revision 1,
    from a snapshot when one of this content is in ``folder``; otherwise parsed (refused past
    ``max_statements``), warmed up with ``warm_up`` (the views worth keeping) and saved there."""
    key = SnapshotKey(f"files:{root}", content_hash)
    saved = read(folder, key)
    if saved is not None:
        # Its identity names the files' content: a store seeded from it restores these views too.
        SHARED_VIEWS.offer(saved.revision, _loaders(saved.views))
        return PolicyGraph(
            MemoryStore.from_nquads(saved.dataset or b""),
            revision=saved.revision,
            revision_number=saved.revision_number,
            content_hash=saved.content_hash,
            saved_views=_loaders(saved.views),
        )
    policy = load_dataset(root, max_statements=max_statements)
    warm_up(policy)
    _save(folder, key, policy, with_dataset=True)
    return policy


def with_saved_views(
    folder: Path, source: str, head: str, policy: PolicyGraph, warm_up: Callable[[PolicyGraph], object]
) -> PolicyGraph:
    """``policy`` (a store's head revision, whose record hash is ``head``) with the views saved
    for it in ``folder``; when there are none, warmed up with ``warm_up`` and its views saved."""
    key = SnapshotKey(source, f"{head}-{policy.revision}")
    saved = read(folder, key)
    if saved is not None and saved.revision == policy.revision:
        policy.saved_views = _loaders(saved.views)
        return policy
    warm_up(policy)
    _save(folder, key, policy, with_dataset=False)
    return policy


def read(folder: Path, key: SnapshotKey) -> Saved | None:
    """The snapshot of ``key`` in ``folder``, or None when there is none that can be trusted."""
    path = folder / f"{key.digest}{SUFFIX}"
    try:
        with path.open("rb") as file:
            if not private(os.fstat(file.fileno())):
                return None
            # Mapped, not read: hashed and unpickled from the page cache without a copy of its
            # megabytes first (5 ms of a warm one-shot command).
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    with mapped, memoryview(mapped) as whole:
        start = mapped.find(b"\n") + 1
        with whole[start:] as payload:
            if start == 0 or whole[:start] != _header(key, payload):
                return None
            try:
                saved = pickle.loads(payload)
            except Exception:  # a file that passed the digest yet does not load: treat it as absent
                return None
    return saved if isinstance(saved, Saved) else None


def write(folder: Path, key: SnapshotKey, saved: Saved) -> None:
    """Save ``saved`` as the snapshot of ``key``: whole or not at all. A folder that cannot be
    written leaves no snapshot (the next command builds again), never an error."""
    payload = pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)
    if replace_file(folder, f"{key.digest}{SUFFIX}", _header(key, payload) + payload):
        _prune(folder)


def replace_file(folder: Path, name: str, content: bytes) -> bool:
    """Write ``content`` to ``folder / name`` through a temporary file moved into place, so that
    a reader sees the old file or the new one; False when the folder cannot be written. The
    folder is made private; a temporary file an interrupted writer left is pruned (``_prune``)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=PARTIAL, suffix=SUFFIX)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / name)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return False
    return True


def content_hash(folder: Path, root: Path) -> str:
    """``files_hash(root)``, remembered in ``folder`` by the files' status, as git's index
    remembers its files: while the same graph files keep their size, inode, and modification and
    change times, the hash is read back instead of reading every file again. A status is
    remembered only when every file last changed more than ``SETTLED_S`` seconds before, so that
    a write within one tick of the file system's clock cannot leave a file changed with its
    status unchanged (git's "racily clean" files); a change always moves the change time."""
    files = graph_files(root)
    now = time.time_ns()
    lines, settled = [str(root)], True
    for path in files:
        try:
            status = path.stat()
        except OSError:
            return files_hash(root)
        lines.append(f"{path} {status.st_size} {status.st_ino} {status.st_mtime_ns} {status.st_ctime_ns}")
        settled = settled and now - max(status.st_mtime_ns, status.st_ctime_ns) > SETTLED_S * 1e9
    stamp = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    name = hashlib.sha256(str(root).encode()).hexdigest()[:32] + FILES_SUFFIX
    try:
        with (folder / name).open("rb") as file:
            remembered = file.read(200).decode("ascii").split() if private(os.fstat(file.fileno())) else []
    except (OSError, UnicodeDecodeError):
        remembered = []
    if len(remembered) == 2 and remembered[0] == stamp:
        return remembered[1]
    found = files_hash(root)
    if settled:
        replace_file(folder, name, f"{stamp} {found}".encode("ascii"))
    return found


@functools.cache
def code_stamp() -> str:
    """What the saved objects' classes depend on: payerkg's version and modules (by size and
    modification time, so an edited checkout counts as another version) and rdflib's version."""
    package = str(Path(__file__).resolve().parents[1])
    lines = []
    for parent, folders, names in os.walk(package):  # not Path.rglob: 2-4 ms against 1 ms
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(parent, name)
                try:
                    status = os.stat(path)
                except OSError:
                    continue
                lines.append(f"{path[len(package) :]} {status.st_size} {status.st_mtime_ns}\n")
    digest = hashlib.sha256(f"{__version__} {rdflib.__version__}".encode())
    digest.update("".join(sorted(lines)).encode())
    return digest.hexdigest()[:16]


def _header(key: SnapshotKey, payload: bytes | memoryview) -> bytes:
    digest = hashlib.sha256(payload).hexdigest()
    return (
        b" ".join(
            [
                MAGIC,
                str(FORMAT).encode(),
                __version__.encode(),
                code_stamp().encode(),
                key.digest.encode(),
                digest.encode(),
            ]
        )
        + b"\n"
    )


def private(status: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (where the system has owners)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    return status.st_uid == getuid() and not status.st_mode & 0o022


def _save(folder: Path, key: SnapshotKey, policy: PolicyGraph, with_dataset: bool) -> None:
    try:
        store = policy.store
        dataset = store.nquads() if with_dataset and isinstance(store, MemoryStore) else None
        views = _pickled(policy)
    except (pickle.PicklingError, TypeError, AttributeError):
        return  # something that cannot be kept: no snapshot, and answers are the same without
    write(folder, key, Saved(policy.revision, policy.revision_number, policy.content_hash, dataset, views))


def _pickled(policy: PolicyGraph) -> dict[str, bytes]:
    return {name: dumps(state) for name, state in policy.view_states().items()}


PLAIN_VALUES = frozenset({type(None), str, int, float, bool, Decimal, date, datetime, time_of_day, timedelta})
"""Literal values that pickle as themselves (other values, such as parsed XML, keep rdflib's way)."""


def dumps(state: object) -> bytes:
    """``state`` pickled as a snapshot keeps it (read back with ``pickle.loads``): rdflib's IRIs,
    literals and blank nodes as their parts. rdflib's own way rebuilds each through ``URIRef()``,
    ``Literal()`` and ``BNode()``, which check every IRI and parse every lexical form again: most
    of the time a restored rule model took (about 20,000 terms on the shipped graph), and half of
    a restored shapes graph's (8,000 blank nodes)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {
        **copyreg.dispatch_table,
        URIRef: _iri_parts,
        Literal: _literal_parts,
        BNode: _blank_node_parts,
    }
    pickler.dump(state)
    return buffer.getvalue()


def _iri_parts(iri: URIRef) -> tuple[Callable[[str], URIRef], tuple[str]]:
    return _iri, (str(iri),)


def _blank_node_parts(node: BNode) -> tuple[Callable[[str], BNode], tuple[str]]:
    return _blank_node, (str(node),)


def _literal_parts(literal: Literal) -> str | tuple[Callable[..., Literal], tuple[object, ...]]:
    if type(literal.value) not in PLAIN_VALUES:
        return literal.__reduce__()
    return _literal, (str(literal), literal.language, literal.datatype, literal.value, literal.ill_typed)


def _iri(text: str) -> URIRef:
    """An IRI checked when it was first made (the snapshot is trusted: see the module's note)."""
    return str.__new__(URIRef, text)


def _blank_node(label: str) -> BNode:
    """A blank node with its label, made without rdflib's checks (the shapes graph has thousands)."""
    return str.__new__(BNode, label)


def _literal(
    lexical: str, language: str | None, datatype: URIRef | None, value: object, ill_typed: bool | None
) -> Literal:
    """A literal with the parts rdflib gave it when it was first made, its lexical form not parsed again."""
    literal = str.__new__(Literal, lexical)
    literal._language = language
    literal._datatype = datatype
    literal._value = value
    literal._ill_typed = ill_typed
    return literal


def _loaders(views: dict[str, bytes]) -> dict[str, Callable[[], object]]:
    return {name: functools.partial(loads, blob) for name, blob in views.items()}


def loads(blob: bytes) -> object:
    """``pickle.loads`` with the cyclic garbage collector paused: a view's state is tens of
    thousands of new objects and no garbage, yet each collection their making set off walked
    every object of the process (a restored shapes graph took 57-90 ms with it, 36-41 without)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(blob)
    finally:
        if enabled:
            gc.enable()


def _prune(folder: Path) -> None:
    """Keep the ``KEPT`` newest snapshots; remove older ones, and partial files an interrupted
    command left (those of a command still writing are younger than ``STALE_PARTIAL_S``)."""
    now = time.time()
    try:
        found = [(path.stat().st_mtime, path) for path in folder.glob(f"*{SUFFIX}")]
    except OSError:
        return
    whole = sorted(((t, p) for t, p in found if not p.name.startswith(PARTIAL)), reverse=True)
    stale = [p for t, p in found if p.name.startswith(PARTIAL) and now - t > STALE_PARTIAL_S]
    for path in [p for _, p in whole[KEPT:]] + stale:
        path.unlink(missing_ok=True)
