"""The in-memory store: an rdflib Dataset in this process."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier

from payerkg.errors import StoreError
from payerkg.graph.queries import SPARQL_PARSER, Row, select
from payerkg.stores.base import Store, new_dataset


class MemoryStore(Store):
    """An rdflib Dataset. Updates are applied to a copy that then replaces the served one, so a
    reader never sees half an update and a failed update leaves no trace."""

    kind = "memory"

    def __init__(self, dataset: Dataset | None = None) -> None:
        self._dataset = dataset if dataset is not None else new_dataset()
        self._writing = threading.Lock()

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        return select(self._dataset, name, **bindings)

    def snapshot(self) -> Dataset:
        return self._dataset

    def pinned(self) -> Store:
        return MemoryStore(self._dataset)  # updates replace the dataset, never change it

    def graph_names(self) -> set[URIRef]:
        # rdflib names its default graph too (urn:x-rdflib:default); it is not a stored named graph.
        return {
            g.identifier
            for g in self._dataset.contexts()
            if isinstance(g.identifier, URIRef) and g.identifier != DATASET_DEFAULT_GRAPH_ID
        }

    def graph(self, name: URIRef) -> Graph:
        return self._dataset.graph(name)

    def update(self, text: str) -> None:
        with self._writing, SPARQL_PARSER:
            changed = _copy(self._dataset)
            try:
                changed.update(text)
            except Exception as exc:  # rdflib raises many types; the served dataset is untouched
                raise StoreError(f"update refused by the in-memory store: {exc}") from exc
            self._dataset = changed

    def load(self, dataset: Dataset) -> None:
        with self._writing:
            changed = _copy(self._dataset)
            changed.addN(dataset.quads())  # type: ignore[arg-type]
            self._dataset = changed


def _copy(dataset: Dataset) -> Dataset:
    copied = new_dataset()
    copied.addN(dataset.quads())  # type: ignore[arg-type]
    return copied
