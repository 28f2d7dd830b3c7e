"""The in-memory store: the graph in this process, held by Oxigraph, and by rdflib where that is needed."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier

from payerkg.errors import StoreError
from payerkg.graph.queries import Row, select
from payerkg.stores.base import Store, new_dataset
from payerkg.stores.oxigraph import OxigraphStore


class MemoryStore(Store):
    """The graph in this process. Every change (an update, statements loaded) is applied by an
    in-memory Oxigraph store to a copy that then replaces the content, so a reader never sees half
    a change and a failed one leaves no trace.

    Reads run on Oxigraph: rdflib's evaluator took 2 to 4 s for the index of every rule version of
    the shipped graph, Oxigraph 0.3 s with the copy. Only a read that binds a blank node runs on
    rdflib, which alone can match one, and a whole-graph ``snapshot`` is an rdflib Dataset: each
    is made from the Oxigraph content (blank nodes keep their labels) when first needed. A store
    made from an rdflib Dataset (a pinned revision, the files as ``load_dataset`` parsed them)
    reads from it and from an Oxigraph copy of it, until its first change."""

    kind = "memory"

    def __init__(
        self,
        dataset: Dataset | None = None,
        frozen: bool = False,
        only_revisions: bool = False,
        max_statements: int | None = None,
    ) -> None:
        """``frozen``: a revision pinned for reading, which refuses updates; ``max_statements``:
        the most it loads from files (``revisions.seed``), past which it refuses rather than take
        minutes to start."""
        self.frozen = frozen
        self.only_revisions = only_revisions
        self.max_statements = max_statements
        self._current: Dataset | None = dataset if dataset is not None else new_dataset()
        self._native: _NativeContent | None = None
        """The content in Oxigraph, once given as N-Quads or changed (then ``_current`` is None)."""
        self._writing = threading.Lock()
        self._copying = threading.Lock()
        self._indexed: tuple[Dataset, OxigraphStore] | None = None

    @classmethod
    def from_nquads(cls, data: bytes) -> MemoryStore:
        """A store holding the N-Quads ``data`` (as ``nquads`` wrote it, blank-node labels kept)."""
        store = cls()
        store._current, store._native = None, _NativeContent(data=data)
        return store

    def load_nquads(self, data: bytes) -> None:
        """Give an empty store the N-Quads ``data``, all at once (a seed from a start-up snapshot)."""
        self._refuse_if_frozen()
        with self._writing:
            if not self.is_empty():
                raise StoreError("N-Quads are loaded into an empty in-memory store only")
            content = _NativeContent(data=data)
            content.oxigraph()  # parsed now: a syntax error leaves the store empty
            self.only_revisions = False
            self._native = content  # before the Dataset goes: a reader sees one or the other
            self._current = self._indexed = None

    def nquads(self) -> bytes:
        """The whole content as N-Quads, blank-node labels kept (``from_nquads`` reads it back)."""
        content = self._native
        if content is not None and content.data is not None:
            return content.data
        return self._oxigraph_copy().nquads()

    @property
    def _dataset(self) -> Dataset:
        current = self._current
        if current is None:
            content = self._native
            assert content is not None, "a store without its own Dataset holds its content in Oxigraph"
            return content.dataset()
        return current

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        if any(isinstance(term, BNode) for term in bindings.values()):
            return select(self._dataset, name, **bindings)
        return self._oxigraph_copy().select(name, bindings)

    def oxigraph(self) -> OxigraphStore:
        return self._oxigraph_copy()

    def _oxigraph_copy(self) -> OxigraphStore:
        content = self._native
        if content is not None:
            return content.oxigraph()
        dataset = self._dataset  # never changed: a copy of this one stays a copy of it
        with self._copying:
            if self._indexed is None or self._indexed[0] is not dataset:
                copy = OxigraphStore(None)
                copy.load(dataset)
                self._indexed = (dataset, copy)
            return self._indexed[1]

    def snapshot(self) -> Dataset:
        return self._dataset

    def pinned(self) -> Store:
        # Updates replace the dataset, never change it; nor its Oxigraph copy, which is shared.
        content = self._native
        if content is not None:
            pinned = MemoryStore(frozen=True, only_revisions=self.only_revisions)
            pinned._current, pinned._native = None, content
            return pinned
        dataset = self._dataset
        pinned = MemoryStore(dataset, frozen=True, only_revisions=self.only_revisions)
        with self._copying:
            if self._indexed is not None and self._indexed[0] is dataset:
                pinned._indexed = self._indexed
        return pinned

    def is_empty(self) -> bool:
        content = self._native
        if content is not None:
            return content.oxigraph().is_empty()
        return len(self._dataset) == 0

    def graph_names(self) -> set[URIRef]:
        content = self._native
        if content is not None:
            return content.oxigraph().graph_names()
        # rdflib names its default graph too (urn:x-rdflib:default); it is not a stored named graph.
        return {
            g.identifier
            for g in self._dataset.contexts()
            if isinstance(g.identifier, URIRef) and g.identifier != DATASET_DEFAULT_GRAPH_ID
        }

    def graph(self, name: URIRef) -> Graph:
        content = self._native
        if content is not None:
            return content.oxigraph().graph(name)
        return self._dataset.graph(name)

    def update(self, text: str) -> None:
        self._refuse_if_frozen()
        with self._writing:
            changed = self._oxigraph_copy().copy()
            try:
                changed.update(text)
            except StoreError as exc:
                raise StoreError(f"update refused by the in-memory store: {exc.__cause__ or exc}") from exc
            self._native = _NativeContent(copy=changed)
            self._current = self._indexed = None

    def load(self, dataset: Dataset) -> None:
        self._refuse_if_frozen()
        self.only_revisions = False  # statements from elsewhere: seed() says when they are a seed
        with self._writing:
            changed = self._oxigraph_copy().copy()
            changed.load(dataset)
            self._native = _NativeContent(copy=changed)
            self._current = self._indexed = None

    def _refuse_if_frozen(self) -> None:
        if self.frozen:
            raise StoreError("a pinned revision is read-only; update the store it was pinned from")


class _NativeContent:
    """A store's content in Oxigraph: given as N-Quads (parsed when first read) or as a store an
    update made, and made into an rdflib Dataset (blank-node labels kept) when first needed.
    Never changed once made; shared by the store and the revisions pinned from it, so each is
    made once."""

    def __init__(self, data: bytes | None = None, copy: OxigraphStore | None = None) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._copy = copy
        self._dataset: Dataset | None = None

    def oxigraph(self) -> OxigraphStore:
        with self._lock:
            if self._copy is None:
                assert self.data is not None, "content is given as N-Quads or as a store"
                self._copy = OxigraphStore.from_nquads(self.data)
            return self._copy

    def dataset(self) -> Dataset:
        copy = self.oxigraph()
        with self._lock:
            if self._dataset is None:
                self._dataset = copy.dataset()
            return self._dataset
