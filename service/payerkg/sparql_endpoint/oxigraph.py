"""The endpoint's graphs in an in-memory pyoxigraph store, and queries evaluated and serialised there.

The store holds each served graph as a named graph and, in its default graph, their merge: each
statement once, as rdflib's union default graph gives it (Oxigraph's own union default graph
repeats a statement once per graph that holds it, which would change counts and rows). Blank nodes
keep rdflib's labels. Only the query worker evaluates here (``query.run_query``); the store is
built once per revision and never written after, so a forked worker finds no lock held.

Results are counted before they are written, so nothing is cut: solutions and distinct triples
are kept up to one past the row limit. pyoxigraph writes every format: kept solutions pass
through its TSV reader (lossless, labels kept) to reach its result writers, since they cannot be
handed back to it otherwise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import Dataset
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from payerkg.errors import MalformedQuery, NotAcceptable, ResultTooLarge
from payerkg.namespaces import PREFIXES
from payerkg.sparql_endpoint.formats import (
    CSV,
    GRAPH_FORMATS,
    JSON_LD,
    NTRIPLES,
    RDF_XML,
    SPARQL_JSON,
    SPARQL_XML,
    TSV,
    TURTLE,
)
from payerkg.stores.base import new_dataset
from payerkg.stores.oxigraph import oxigraph_term, rdflib_term

RESULT_WRITERS = {
    SPARQL_JSON: ox.QueryResultsFormat.JSON,
    SPARQL_XML: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV,
    TSV: ox.QueryResultsFormat.TSV,
}
GRAPH_WRITERS = {
    TURTLE: ox.RdfFormat.TURTLE,
    NTRIPLES: ox.RdfFormat.N_TRIPLES,
    JSON_LD: ox.RdfFormat.JSON_LD,
    RDF_XML: ox.RdfFormat.RDF_XML,
}
PREFIX_IRIS = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}

_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_LOCAL_NAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*$")
"""An XML name (without colons) ending an IRI: what RDF/XML needs to write it as a predicate."""


@dataclass(frozen=True)
class OxigraphGraphs:
    """The served graphs in pyoxigraph: the merge as default graph, each graph also by its name."""

    store: Any  # pyoxigraph.Store (no type stubs)


class Unparsed(Exception):
    """pyoxigraph's parser refused a query that rdflib's accepted: rdflib answers it."""


def oxigraph_graphs(dataset: Dataset) -> OxigraphGraphs | None:
    """``dataset`` (union default graph) copied into an in-memory pyoxigraph store, or None when
    pyoxigraph refuses one of its terms (an IRI or language tag rdflib let through).

    >>> from rdflib import Dataset, URIRef
    >>> data = Dataset(default_union=True)
    >>> for name in ("urn:g1", "urn:g2"):
    ...     _ = data.graph(URIRef(name)).add((URIRef("urn:s"), URIRef("urn:p"), URIRef("urn:o")))
    >>> graphs = oxigraph_graphs(data)
    >>> [len(list(graphs.store.query(q))) for q in ("SELECT * {?s ?p ?o}", "SELECT * {GRAPH ?g {?s ?p ?o}}")]
    [1, 2]
    """
    default = ox.DefaultGraph()
    quads: list[ox.Quad] = []
    try:
        for graph in dataset.graphs():  # graph by graph: rdflib's quads() looks up each triple's graphs
            name = (
                default if graph.identifier == DATASET_DEFAULT_GRAPH_ID else oxigraph_term(graph.identifier)
            )
            quads.extend(
                ox.Quad(oxigraph_term(s), oxigraph_term(p), oxigraph_term(o), name) for s, p, o in graph
            )
    except ValueError:
        return None
    return oxigraph_graphs_of(quads)


def oxigraph_graphs_of(quads: Iterable[ox.Quad]) -> OxigraphGraphs:
    """``quads`` (pyoxigraph's, as another Oxigraph store holds them) in a store of their own, with
    their merge as its default graph: nothing passes through rdflib."""
    store = ox.Store()
    store.extend(quads)
    # The merge written by Oxigraph itself: a copy of each quad made here took twice as long.
    store.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
    return OxigraphGraphs(store)


def named_graphs_dataset(graphs: OxigraphGraphs) -> Dataset:
    """The named graphs of ``graphs`` as an rdflib Dataset whose default graph is their union (the
    merge is rdflib's own), blank nodes keeping their labels: for a query only rdflib evaluates,
    read in the query's worker from this copy, never from the store (the worker opens nothing)."""
    dataset = new_dataset()
    graphs_by_name: dict[Any, Any] = {}
    quads = []
    for quad in graphs.store.quads_for_pattern(None, None, None, None):
        name = quad.graph_name
        if isinstance(name, ox.DefaultGraph):
            continue
        if name not in graphs_by_name:
            graphs_by_name[name] = dataset.graph(rdflib_term(name))  # type: ignore[arg-type]
        quads.append(
            (
                rdflib_term(quad.subject),
                rdflib_term(quad.predicate),
                rdflib_term(quad.object),
                graphs_by_name[name],
            )
        )
    dataset.addN(quads)
    return dataset


def answer(
    graphs: OxigraphGraphs, text: str, form: str, media_type: str, max_rows: int, base: str | None
) -> bytes:
    """The serialized result of a checked query (``query.parse_read_only``) of form ``form``.
    Unparsed when pyoxigraph's parser refuses it; no file or socket can be opened meanwhile."""
    with _no_new_files():
        try:
            result = graphs.store.query(text, base_iri=base, prefixes=PREFIX_IRIS)
        except SyntaxError:
            raise Unparsed from None
        try:
            if form == "ASK":
                return _write_ask(result, media_type)
            if form == "SELECT":
                return _write_select(result, media_type, max_rows)
            return _write_graph(result, media_type, max_rows)
        except OSError as error:  # pyoxigraph's error while evaluating (a bad regex, ...)
            raise MalformedQuery(f"the query could not be evaluated ({type(error).__name__})") from None


def _write_ask(answer: Any, media_type: str) -> bytes:
    # pyoxigraph writes a bare ``true`` in CSV and TSV; the endpoint keeps Jena's one-column form.
    if media_type == CSV:
        return f"_askResult\r\n{str(bool(answer)).lower()}\r\n".encode()
    if media_type == TSV:
        return f"?_askResult\n{str(bool(answer)).lower()}\n".encode()
    return bytes(answer.serialize(format=RESULT_WRITERS[media_type]))


def _write_select(solutions: Any, media_type: str, max_rows: int) -> bytes:
    names = [variable.value for variable in solutions.variables]
    lines = ["\t".join(f"?{name}" for name in names)]
    for solution in solutions:
        if len(lines) > max_rows:
            raise ResultTooLarge(f"the result has more than {max_rows} rows; narrow the query or add LIMIT")
        lines.append("\t".join(_cell(solution[name]) for name in names))
    kept = ("\n".join(lines) + "\n").encode("utf-8")
    parsed = ox.parse_query_results(kept, ox.QueryResultsFormat.TSV)
    return parsed.serialize(format=RESULT_WRITERS[media_type]) or b""


def _cell(term: Any) -> str:
    # pyoxigraph writes terms as N-Triples, escaping tab and line breaks in literals.
    return "" if term is None else str(term)


def _write_graph(triples: Iterator[Any], media_type: str, max_rows: int) -> bytes:
    kept: dict[Any, None] = {}
    for triple in triples:
        kept[triple] = None
        if len(kept) > max_rows:
            raise ResultTooLarge(f"the result holds more than {max_rows} triples; narrow the query")
    if media_type == RDF_XML and any(not _LOCAL_NAME.search(t.predicate.value) for t in kept):
        # pyoxigraph would write an element without a local name (not namespace-well-formed XML).
        raise NotAcceptable(
            f"this result cannot be written as {media_type}; ask for " + ", ".join(GRAPH_FORMATS[:3]),
            "accept",
        )
    return ox.serialize(kept, format=GRAPH_WRITERS[media_type], prefixes=PREFIX_IRIS) or b""


_sealed = False


def seal_this_process() -> None:
    """In a query worker only: while pyoxigraph evaluates, no new file or socket may be opened."""
    global _sealed
    _sealed = True


@contextmanager
def _no_new_files() -> Iterator[None]:
    """No new file descriptor in a sealed worker meanwhile: Oxigraph runs ``SERVICE`` itself, out
    of reach of the worker's audit hook, so this is its second lock behind the algebra check."""
    if not _sealed:
        yield
        return
    try:
        import resource
    except ImportError:  # not Unix: the algebra check alone holds
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.open(os.devnull, os.O_RDONLY)
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
