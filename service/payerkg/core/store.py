"""Where the graph lives: one small interface, three backends.

- ``MemoryStore``: an rdflib Dataset in this process (the default; tests and ``make serve``).
- ``OxigraphStore``: an embedded on-disk pyoxigraph store (persistent, transactional).
- ``RemoteStore``: any SPARQL 1.1 server with query, update and graph store endpoints, shared by
  several API replicas (Oxigraph server, Jena Fuseki, GraphDB), configured to use the union of
  its named graphs as the default graph.

The core asks three things of a store: rows of a named SELECT query with RDF-term bindings, a
snapshot of its content as an rdflib Dataset, and an atomic SPARQL Update. Values always enter
queries as RDF terms: bound by rdflib in memory, or serialized by rdflib in place of their
variables for Oxigraph and remote servers; never as raw text.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier, Node

from payerkg.core.queries import SPARQL_PARSER, Row, query_text, select
from payerkg.errors import StoreError
from payerkg.namespaces import PREFIXES

BULK_READ_LIMIT = 2_000_000
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
_COMMENT_LINE = re.compile(r"^\s*#.*$", re.MULTILINE)
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def new_dataset() -> Dataset:
    """An empty Dataset whose default graph is the union of its named graphs, with our prefixes."""
    dataset = Dataset(default_union=True)
    for prefix, namespace in PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset


class Store(ABC):
    """The graph's home. Reads see committed content only; ``update`` applies all or nothing."""

    kind: ClassVar[str]
    bulk_reads: bool = True
    """Whether reading every rule statement up front is cheap (local stores) or not (remote)."""

    @abstractmethod
    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        """Rows of ``queries/<name>.rq`` with each variable of ``bindings`` bound to its term."""

    @abstractmethod
    def snapshot(self) -> Dataset:
        """The whole content as an rdflib Dataset, one named graph per stored graph."""

    def pinned(self) -> Store:
        """A reader that keeps seeing the current content while later updates are applied, where
        the backend can give one (in-memory); otherwise the store itself."""
        return self

    @abstractmethod
    def graph_names(self) -> set[URIRef]:
        """The names of the stored named graphs."""

    @abstractmethod
    def graph(self, name: URIRef) -> Graph:
        """A copy of one named graph."""

    @abstractmethod
    def update(self, text: str) -> None:
        """Run one SPARQL Update request atomically: all of it or none of it."""

    @abstractmethod
    def load(self, dataset: Dataset) -> None:
        """Add every quad of ``dataset`` (named graphs kept) in one atomic step."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing open
        """Release what the store holds open."""


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
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        # Reading every rule statement at start-up is the fast way up to a few million statements;
        # past that it would not fit in memory, so reads go per (payer, code) as for a remote store.
        self.bulk_reads = len(self._store) <= BULK_READ_LIMIT
        self._texts: dict[str, str] = {}

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        text = self._texts.get(name) or self._texts.setdefault(name, query_text(name))
        query, projected = _substituted(text, bindings)
        solutions: Any = self._store.query(query, use_default_graph_as_union=True)
        variables = [v.value for v in solutions.variables]
        rows: list[Row] = []
        for solution in solutions:
            row: Row = dict(projected)
            for variable in variables:
                value = solution[variable]
                if value is not None:
                    row[variable] = _from_ox(value)
            rows.append(row)
        return rows

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
            graph.add((_from_ox(quad.subject), _from_ox(quad.predicate), _from_ox(quad.object)))
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

    def load(self, dataset: Dataset) -> None:
        data = dataset.serialize(format="nquads", encoding="utf-8")
        self._store.load(data, format=self._ox.RdfFormat.N_QUADS)  # one transaction
        self._store.flush()

    def close(self) -> None:
        self._store.flush()
        del self._store


def _from_ox(value: Any) -> Node:
    kind = type(value).__name__
    if kind == "NamedNode":
        return URIRef(value.value)
    if kind == "BlankNode":
        return BNode(value.value)
    return _literal(value.value, value.datatype.value, value.language)


def _literal(lexical: str, datatype: str | None, language: str | None) -> Literal:
    """An rdflib literal; xsd:string and rdf:langString become plain literals as rdflib writes them."""
    if language:
        return Literal(lexical, lang=language)
    if datatype is None or datatype in (str(XSD.string), str(RDF.langString)):
        return Literal(lexical)
    return Literal(lexical, datatype=URIRef(datatype))


class RemoteStore(Store):
    """A SPARQL 1.1 server: Query, Update and Graph Store protocols over HTTP."""

    kind = "remote"
    bulk_reads = False

    def __init__(self, query_url: str, update_url: str, store_url: str, timeout_s: float = 30.0) -> None:
        self.query_url, self.update_url, self.store_url = query_url, update_url, store_url
        # Never follows redirects: the configured server is the only place data comes from.
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        query, projected = _substituted(query_text(name), bindings)
        return [projected | row for row in self._select_text(query)]

    def _select_text(self, text: str) -> list[Row]:
        response = self._request(
            "POST",
            self.query_url,
            data={"query": text},
            headers={"accept": "application/sparql-results+json"},
        )
        body = response.json()
        return [{k: _from_json(v) for k, v in binding.items()} for binding in body["results"]["bindings"]]

    def snapshot(self) -> Dataset:
        response = self._request("GET", self.store_url, headers={"accept": "application/n-quads"})
        dataset = new_dataset()
        if response.content.strip():
            dataset.parse(data=response.content, format="nquads")
        return dataset

    def graph_names(self) -> set[URIRef]:
        rows = self._select_text("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        return {g for row in rows if isinstance(g := row.get("g"), URIRef)}

    def graph(self, name: URIRef) -> Graph:
        response = self._request(
            "GET", self.store_url, params={"graph": str(name)}, headers={"accept": "application/n-triples"}
        )
        graph = Graph(identifier=name)
        graph.parse(data=response.content, format="nt")
        return graph

    def update(self, text: str) -> None:
        self._request("POST", self.update_url, data={"update": text})

    def load(self, dataset: Dataset) -> None:
        self._request(
            "POST",
            self.store_url,
            content=dataset.serialize(format="nquads", encoding="utf-8"),
            headers={"content-type": "application/n-quads"},
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server at {url} did not answer: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise StoreError(f"the SPARQL server at {url} answered {response.status_code}")
        return response


def _substituted(text: str, bindings: Mapping[str, Identifier]) -> tuple[str, Row]:
    """The query with each bound variable of its WHERE part replaced by its term, written by
    rdflib's serializer (SEP-0007 substitution), and the bound values the caller adds to each row
    for the variables the query projects.

    Substituted constants let the store use its indexes; an inline VALUES block was joined after
    evaluating the whole pattern (Oxigraph: 50 ms a question on 100,000 statements). A blank node
    is refused: SPARQL has no syntax for a stored blank node, so only the in-memory store can
    match one; read a blank node's statements in the same query as the IRI that refers to it."""
    if not bindings:
        return text, {}
    match = _WHERE.search(text)
    assert match is not None, "every shipped SELECT query has a WHERE group"
    head, body = text[: match.start()], text[match.start() :]
    for name, term in bindings.items():
        if isinstance(term, BNode):
            raise StoreError(
                f"cannot bind ?{name} to a blank node in a query sent to Oxigraph or a SPARQL server; "
                "read it in the same query as the IRI that refers to it"
            )
        if isinstance(term, URIRef) and _NOT_IN_IRI.search(str(term)):
            raise StoreError(f"?{name} is bound to an IRI that cannot be written in a query")
        body = _variable(name).sub(_constant(term.n3()), body)
    selected = _COMMENT_LINE.sub("", head)
    projected = {name: term for name, term in bindings.items() if _variable(name).search(selected)}
    return head + body, projected


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement that inserts ``text`` as it is (a string would be read as a template)."""
    return lambda _: text


def _variable(name: str) -> re.Pattern[str]:
    return re.compile(rf"[?$]{re.escape(name)}\b")


def _from_json(value: dict[str, str]) -> Node:
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    return _literal(value["value"], value.get("datatype"), value.get("xml:lang"))

