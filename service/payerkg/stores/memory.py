"""The in-memory store: the graph in this process, held by Oxigraph, and by rdflib where that is needed."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from rdflib import BNode, Dataset, Graph, URIRef
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
        self._content = _Content(dataset=dataset if dataset is not None else new_dataset())
        self._writing = threading.Lock()

    @classmethod
    def from_nquads(cls, data: bytes) -> MemoryStore:
        """A store holding the N-Quads ``data`` (as ``nquads`` wrote it, blank-node labels kept)."""
        store = cls()
        store._content = _Content(data=data)
        return store

    def load_nquads(self, data: bytes) -> None:
        """Give an empty store the N-Quads ``data``, all at once (a seed from a start-up snapshot)."""
        self._refuse_if_frozen()
        with self._writing:
            if not self.is_empty():
                raise StoreError("N-Quads are loaded into an empty in-memory store only")
            content = _Content(data=data)
            content.oxigraph()  # parsed now: a syntax error leaves the store empty
            self.only_revisions = False
            self._content = content

    def nquads(self) -> bytes:
        """The whole content as N-Quads, blank-node labels kept (``from_nquads`` reads it back)."""
        return self._content.nquads()

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        if any(isinstance(term, BNode) for term in bindings.values()):
            return select(self._content.dataset(), name, **bindings)
        return self._content.oxigraph().select(name, bindings)

    def oxigraph(self) -> OxigraphStore:
        return self._content.oxigraph()

    def snapshot(self) -> Dataset:
        return self._content.dataset()

    def pinned(self) -> Store:
        # Changes replace the content, never change it: the pin shares it and what is made from it.
        pinned = MemoryStore(frozen=True, only_revisions=self.only_revisions)
        pinned._content = self._content
        return pinned

    def is_empty(self) -> bool:
        return self._content.oxigraph().is_empty()

    def graph_names(self) -> set[URIRef]:
        return self._content.oxigraph().graph_names()

    def graph(self, name: URIRef) -> Graph:
        return self._content.oxigraph().graph(name)

    def update(self, text: str) -> None:
        self._refuse_if_frozen()
        with self._writing:
            changed = self._content.oxigraph().copy()
            try:
                changed.update(text)
            except StoreError as exc:
                raise StoreError(f"update refused by the in-memory store: {exc.__cause__ or exc}") from exc
            self._content = _Content(copy=changed)

    def load(self, dataset: Dataset) -> None:
        self._refuse_if_frozen()
        self.only_revisions = False  # statements from elsewhere: seed() says when they are a seed
        with self._writing:
            changed = self._content.oxigraph().copy()
            changed.load(dataset)
            self._content = _Content(copy=changed)

    def _refuse_if_frozen(self) -> None:
        if self.frozen:
            raise StoreError("a pinned revision is read-only; update the store it was pinned from")


class _Content:
    """A store's content, given one way (N-Quads, an Oxigraph store a change made, or an rdflib
    Dataset) and made the other ways when first needed, blank nodes keeping their labels. Never
    changed once made; shared by the store and the revisions pinned from it, so each is made once."""

    def __init__(
        self, data: bytes | None = None, copy: OxigraphStore | None = None, dataset: Dataset | None = None
    ) -> None:
        self._data = data
        self._copy = copy
        self._dataset = dataset
        self._lock = threading.Lock()

    def oxigraph(self) -> OxigraphStore:
        with self._lock:
            if self._copy is None:
                if self._data is not None:
                    self._copy = OxigraphStore.from_nquads(self._data)
                else:
                    assert self._dataset is not None, "content is given one of three ways"
                    self._copy = OxigraphStore(None)
                    self._copy.load(self._dataset)
            return self._copy

    def dataset(self) -> Dataset:
        copy = self.oxigraph() if self._dataset is None else None
        with self._lock:
            if self._dataset is None:
                assert copy is not None
                self._dataset = copy.dataset()
            return self._dataset

    def nquads(self) -> bytes:
        return self._data if self._data is not None else self.oxigraph().nquads()
