"""Where the graph lives: one small interface, a backend per module.

- ``memory.MemoryStore``: an rdflib Dataset in this process (the default; tests and ``make serve``).
- ``oxigraph.OxigraphStore``: an embedded on-disk pyoxigraph store (persistent, transactional).
- ``remote.RemoteStore``: any SPARQL 1.1 server, through its query and update endpoints only,
  shared by several API replicas, configured to use the union of its named graphs as the default.

The domain asks three things of a store: rows of a named SELECT query with RDF-term bindings, a
snapshot of its content as an rdflib Dataset, and an atomic SPARQL Update. Values always enter
queries as RDF terms: bound by rdflib in memory, or serialized by rdflib in place of their
variables for Oxigraph and remote servers; never as raw text.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier

from payerkg.errors import StoreError
from payerkg.graph.queries import Row
from payerkg.namespaces import PREFIXES

if TYPE_CHECKING:
    from payerkg.stores.oxigraph import OxigraphStore

BULK_READ_LIMIT = 2_000_000
TERMS_KEPT = 1 << 17
"""How many converted terms (store rows to rdflib terms) a process keeps, about 30 MB at most."""
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
    frozen: bool = False
    """Whether the content can never change (a pinned in-memory revision)."""
    max_statements: int | None = None
    """The most statements the store takes from the graph files when seeded (None: no limit)."""
    only_revisions: bool = False
    """Whether the content is exactly what the revision log says: seeded into an empty store and
    changed by commits only. With ``frozen``, what is derived from it depends on the graph's
    identity alone (``PolicyGraph.view`` shares it); a store that held other statements before
    its seed has an identity that does not name all of its content."""

    @abstractmethod
    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        """Rows of ``queries/<name>.rq`` with each variable of ``bindings`` bound to its term."""

    def select_each(self, name: str, variable: str, terms: Sequence[URIRef]) -> list[Row]:
        """The rows of ``name`` with ``variable`` bound to each of ``terms`` in turn, together; one
        read where the backend writes them into the query (``with_values``)."""
        return [row for term in terms for row in self.select(name, {variable: term})]

    @abstractmethod
    def snapshot(self) -> Dataset:
        """The whole content as an rdflib Dataset, one named graph per stored graph."""

    def oxigraph(self) -> OxigraphStore | None:
        """The content in an Oxigraph store this store already holds (itself, or the copy it keeps
        for whole-graph reads), for work that reads every statement; None if it holds none."""
        return None

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


def substituted(text: str, bindings: Mapping[str, Identifier]) -> tuple[str, Row]:
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
        body = _variable(name).sub(_constant(_written(name, term)), body)
    selected = _COMMENT_LINE.sub("", head)
    projected = {name: term for name, term in bindings.items() if _variable(name).search(selected)}
    return head + body, projected


def with_values(text: str, variable: str, terms: Sequence[URIRef]) -> str:
    """The query with ``VALUES ?variable { ... }`` (the terms written by rdflib) opening its WHERE
    group: Oxigraph joins in written order, so the pattern is evaluated once per term (four rule
    versions read in one query: 1.4 ms at 10^7 statements, against 1.9 ms in four)."""
    match = _WHERE.search(text)
    assert match is not None, "every shipped SELECT query has a WHERE group"
    values = " ".join(_written(variable, term) for term in terms)
    return f"{text[: match.end()]}\n  VALUES ?{variable} {{ {values} }}{text[match.end() :]}"


def _written(name: str, term: Identifier) -> str:
    """``term`` as query text, refused where SPARQL cannot say it."""
    if isinstance(term, BNode):
        raise StoreError(
            f"cannot bind ?{name} to a blank node in a query sent to Oxigraph or a SPARQL server; "
            "read it in the same query as the IRI that refers to it"
        )
    if isinstance(term, URIRef) and _NOT_IN_IRI.search(str(term)):
        raise StoreError(f"?{name} is bound to an IRI that cannot be written in a query")
    return term.n3()


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement that inserts ``text`` as it is (a string would be read as a template)."""
    return lambda _: text


def _variable(name: str) -> re.Pattern[str]:
    return re.compile(rf"[?$]{re.escape(name)}\b")


_PLAIN_DATATYPES = frozenset((str(XSD.string), str(RDF.langString)))


@lru_cache(maxsize=TERMS_KEPT)
def iri(value: str) -> URIRef:
    """An rdflib IRI, kept once made: rdflib checks every IRI it makes, and a result's IRIs recur
    (each rule version's in every one of its statements, the same few predicates in all)."""
    return URIRef(value)


@lru_cache(maxsize=TERMS_KEPT)
def plain_literal(lexical: str, datatype: str | None, language: str | None) -> Literal:
    """An rdflib literal; xsd:string and rdf:langString become plain literals as rdflib writes them.
    Kept once made: rdflib checks and parses the lexical form of every literal it makes (most of a
    read's time), and a graph's literals recur in every read of it."""
    if language:
        return Literal(lexical, lang=language)
    if datatype is None or datatype in _PLAIN_DATATYPES:
        return Literal(lexical)
    return Literal(lexical, datatype=URIRef(datatype))
