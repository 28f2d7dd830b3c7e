"""The embedded store: pyoxigraph in a folder, each update one transaction."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier, Node

from payerkg.errors import StoreError, StoreLocked
from payerkg.graph.queries import Row, query_text
from payerkg.stores.base import (
    BULK_READ_LIMIT,
    TERMS_KEPT,
    Store,
    new_dataset,
    plain_literal,
    substituted,
    with_values,
)


class OxigraphStore(Store):
    """An embedded pyoxigraph store in a folder (or in memory, without one); each update is one
    transaction, flushed to disk before ``update`` returns."""

    kind = "oxigraph"

    def __init__(self, path: Path | None) -> None:
        import pyoxigraph  # only this backend needs it

        self._ox = pyoxigraph
        self._writing = threading.Lock()
        try:
            if path is None:
                self._store = pyoxigraph.Store()
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._store = pyoxigraph.Store(str(path))
        except OSError as exc:
            if "lock" in str(exc).lower():  # RocksDB's LOCK file: another process has the folder open
                raise StoreLocked(
                    f"the Oxigraph store at {path} is open in another process (a running service?)"
                ) from None
            raise StoreError(f"cannot open the store at {path} ({exc.__class__.__name__})") from None
        # Reading every rule statement at start-up is the fast way up to a few million statements;
        # past that it would not fit in memory, so reads go per (payer, code) as for a remote store.
        self.bulk_reads = len(self._store) <= BULK_READ_LIMIT
        self._texts: dict[str, str] = {}

    @classmethod
    def from_nquads(cls, data: bytes) -> OxigraphStore:
        """An in-memory store holding the N-Quads ``data`` (as ``nquads`` wrote it), blank nodes
        keeping their labels (``Store.load`` would rename them)."""
        store = cls(None)
        try:
            store._store.extend(store._ox.parse(data, format=store._ox.RdfFormat.N_QUADS))
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"not N-Quads: {exc}") from None
        store.bulk_reads = len(store._store) <= BULK_READ_LIMIT
        return store

    def oxigraph(self) -> OxigraphStore:
        return self

    def is_empty(self) -> bool:
        return len(self._store) == 0

    def copy(self, excluding: Collection[URIRef] = ()) -> OxigraphStore:
        """An in-memory store with the same content, quad for quad (blank nodes keep their labels),
        but the named graphs ``excluding``: no term passes through rdflib."""
        copy = OxigraphStore(None)
        copy._store.extend(self.native_quads(excluding))
        copy.bulk_reads = len(copy._store) <= BULK_READ_LIMIT
        return copy

    def native_quads(self, excluding: Collection[URIRef] = ()) -> Iterator[Any]:
        """Its quads as pyoxigraph's terms, but those of the named graphs ``excluding``."""
        excluded = {self._ox.NamedNode(str(name)) for name in excluding}
        for quad in self._store.quads_for_pattern(None, None, None, None):
            if quad.graph_name not in excluded:
                yield quad

    def triples(self) -> list[tuple[Node, Node, Node]]:
        """The statements of every graph as rdflib terms, each once however many graphs hold it
        (their merge, as rdflib's union graph gives it)."""
        merged = dict.fromkeys(
            (rdflib_term(quad.subject), rdflib_term(quad.predicate), rdflib_term(quad.object))
            for quad in self.native_quads()
        )
        return list(merged)

    def nquads(self) -> bytes:
        """The whole content as N-Quads."""
        return self._store.dump(format=self._ox.RdfFormat.N_QUADS) or b""

    def dataset(self) -> Dataset:
        """The whole content as an rdflib Dataset, term by term: blank nodes keep their labels, so
        a blank node one read returned is matched by the next (``snapshot`` parses a dump)."""
        dataset = new_dataset()
        graphs: dict[str, Graph] = {}
        quads = []
        for quad in self._store.quads_for_pattern(None, None, None, None):
            name = quad.graph_name
            key = name.value if isinstance(name, self._ox.NamedNode) else ""
            if key not in graphs:
                graphs[key] = dataset.graph(URIRef(key)) if key else dataset.default_context
            quads.append(
                (
                    rdflib_term(quad.subject),
                    rdflib_term(quad.predicate),
                    rdflib_term(quad.object),
                    graphs[key],
                )
            )
        dataset.addN(quads)
        return dataset

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        text = self._texts.get(name) or self._texts.setdefault(name, query_text(name))
        query, projected = substituted(text, bindings)
        return self.solutions(query, projected)

    def select_each(self, name: str, variable: str, terms: Sequence[URIRef]) -> list[Row]:
        text = self._texts.get(name) or self._texts.setdefault(name, query_text(name))
        return self.solutions(with_values(text, variable, terms))

    def solutions(self, query: str, projected: Row | None = None) -> list[Row]:
        """The rows of the SELECT ``query`` (text that binds no user value) over the union of the
        graphs, each starting from ``projected``."""
        solutions: Any = self._store.query(query, use_default_graph_as_union=True)
        variables = [v.value for v in solutions.variables]
        given = projected or {}
        # A solution iterates its values in the order of the variables (None where unbound): half
        # the time of looking each up by name.
        return [
            {
                **given,
                **{
                    name: rdflib_term(value)
                    for name, value in zip(variables, solution, strict=True)
                    if value is not None
                },
            }
            for solution in solutions
        ]

    def snapshot(self) -> Dataset:
        dataset = new_dataset()
        data = self._store.dump(format=self._ox.RdfFormat.N_QUADS)
        if data:
            dataset.parse(data=data, format="nquads")
        return dataset

    def graph_names(self) -> set[URIRef]:
        return {URIRef(g.value) for g in self._store.named_graphs() if type(g).__name__ == "NamedNode"}

    def graph(self, name: URIRef) -> Graph:
        graph = Graph(identifier=name)
        for quad in self._store.quads_for_pattern(None, None, None, self._ox.NamedNode(str(name))):
            graph.add((rdflib_term(quad.subject), rdflib_term(quad.predicate), rdflib_term(quad.object)))
        return graph

    def update(self, text: str) -> None:
        # pyoxigraph does not serialize concurrent updates on one store (two conditional commits
        # on one base both applied in a test); the store belongs to this process, so a lock does.
        with self._writing:
            try:
                self._store.update(text)
                self._store.flush()
            except (SyntaxError, OSError, RuntimeError) as exc:  # RuntimeError: failed while running
                raise StoreError(f"update refused by the embedded store: {exc}") from exc

    def load(self, dataset: Dataset | Graph) -> None:
        # Term by term rather than through N-Quads: twice as fast, and blank nodes keep their labels
        # (Oxigraph's parser renames them), so a blank node read here is the dataset's own.
        ox = self._ox
        graphs: dict[Node, Any] = {DATASET_DEFAULT_GRAPH_ID: ox.DefaultGraph()}

        def graph_of(context: Any) -> Any:
            name = getattr(context, "identifier", context)
            if name not in graphs:
                graphs[name] = oxigraph_term(name)
            return graphs[name]

        statements = (
            dataset.quads()
            if isinstance(dataset, Dataset)
            else ((*t, DATASET_DEFAULT_GRAPH_ID) for t in dataset)
        )
        self._extend(
            [
                ox.Quad(oxigraph_term(s), oxigraph_term(p), oxigraph_term(o), graph_of(g))
                for s, p, o, g in statements
            ]
        )

    def load_with(self, source: OxigraphStore, quads: Iterable[tuple[Node, Node, Node, Node]]) -> None:
        """Add every quad of ``source`` and the rdflib ``quads`` in one transaction: a seed, whose
        files' graph is taken as Oxigraph already holds it (not converted from rdflib again), and
        its revision record."""
        self._extend([*source.native_quads(), *oxigraph_quads(quads)])

    def _extend(self, quads: list[Any]) -> None:
        try:
            self._store.extend(quads)  # one transaction
        except (ValueError, OSError) as exc:
            raise StoreError(f"load refused by the embedded store: {exc}") from exc
        self._store.flush()

    def close(self) -> None:
        self._store.flush()
        del self._store


@lru_cache(maxsize=TERMS_KEPT)
def rdflib_term(value: Any) -> Node:
    """The rdflib term for a pyoxigraph term, kept once made: most terms of a graph recur in every
    read of it, and making rdflib terms is most of a read's time."""
    kind = type(value).__name__
    if kind == "NamedNode":
        return URIRef(value.value)
    if kind == "BlankNode":
        return BNode(value.value)
    return plain_literal(value.value, value.datatype.value, value.language)


@lru_cache(maxsize=TERMS_KEPT)
def oxigraph_term(node: Node) -> Any:
    """The pyoxigraph term for an rdflib term (``rdflib_term`` the other way), kept once made;
    ValueError for a term pyoxigraph refuses (an IRI or language tag rdflib let through)."""
    import pyoxigraph as ox

    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    if node.datatype is not None:
        return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
    return ox.Literal(str(node))


def oxigraph_quads(quads: Iterable[tuple[Node, Node, Node, Node]]) -> list[Any]:
    """rdflib quads (subject, predicate, object, graph name) as pyoxigraph's."""
    import pyoxigraph as ox

    return [
        ox.Quad(oxigraph_term(s), oxigraph_term(p), oxigraph_term(o), oxigraph_term(g))
        for s, p, o, g in quads
    ]


def nquads(quads: Iterable[tuple[Node, Node, Node, Node]]) -> bytes:
    """rdflib quads (subject, predicate, object, graph name) as N-Quads, written by Oxigraph."""
    import pyoxigraph as ox

    return ox.serialize(oxigraph_quads(quads), format=ox.RdfFormat.N_QUADS) or b""
