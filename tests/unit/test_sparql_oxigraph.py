"""The endpoint's pyoxigraph evaluator: the locks and refusals that rdflib's path had its own way."""

from __future__ import annotations

import multiprocessing
import socket
from collections import Counter
from multiprocessing.connection import Connection

import pytest
from rdflib import BNode, Dataset
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from payerkg.editing import revisions
from payerkg.editing.revisions import REVISIONS_GRAPH
from payerkg.errors import MalformedQuery, NotAcceptable
from payerkg.sparql_endpoint import oxigraph
from payerkg.sparql_endpoint.oxigraph import OxigraphGraphs, oxigraph_graphs
from payerkg.sparql_endpoint.query import PolicyGraphs, ServedGraphs, answer_query, policy_graphs
from payerkg.stores import MemoryStore
from payerkg.stores.oxigraph import OxigraphStore


def empty() -> OxigraphGraphs:
    graphs = oxigraph_graphs(Dataset(default_union=True))
    assert graphs is not None
    return graphs


def test_a_predicate_rdf_xml_cannot_write_is_not_acceptable_in_rdf_xml_only() -> None:
    served = ServedGraphs.of(Dataset(), empty())
    query = "CONSTRUCT { <urn:a> <http://example.org/123> 1 } WHERE {}"
    with pytest.raises(NotAcceptable):
        answer_query(served, query, "application/rdf+xml")
    assert b"<http://example.org/123>" in answer_query(served, query, "application/n-triples").body


def _service_in_a_sealed_process(port: int, out: Connection) -> None:
    oxigraph.seal_this_process()
    query = f"SELECT * {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    try:
        oxigraph.answer(empty(), query, "SELECT", "application/sparql-results+json", 10, None)
        out.send("answered")
    except MalformedQuery:
        out.send("refused")
    finally:
        out.close()


def test_a_sealed_worker_cannot_reach_a_service_even_past_the_algebra_check() -> None:
    """The second lock: pyoxigraph runs SERVICE itself, outside Python's audit hooks."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        context = multiprocessing.get_context("fork")
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(target=_service_in_a_sealed_process, args=(listener.getsockname()[1], writer))
        child.start()
        writer.close()
        assert reader.poll(20)
        assert reader.recv() == "refused"
        child.join(5)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected


@pytest.mark.parametrize("kind", ["memory", "oxigraph"])
def test_a_copy_made_from_the_stores_own_oxigraph_serves_what_the_dataset_does(kind: str) -> None:
    """On a store holding an Oxigraph copy, the endpoint's copy is made quad for quad from it and
    rdflib's graphs, when a query needs them, are read back from that copy: both hold every
    served graph (no revision records) and their merge, as the Dataset-built copy does."""
    store = MemoryStore() if kind == "memory" else OxigraphStore(None)
    revisions.seed(store)
    policy = revisions.policy_at_head(store)
    served = PolicyGraphs(policy).served()
    expected = policy_graphs(policy.dataset)
    built = oxigraph_graphs(expected)
    assert served.oxigraph is not None and built is not None
    count = "SELECT (COUNT(*) AS ?n) WHERE { %s }"
    for pattern in ("?s ?p ?o", "GRAPH ?g { ?s ?p ?o }", "GRAPH ?g { }"):
        assert [row[0] for row in served.oxigraph.store.query(count % pattern)] == [
            row[0] for row in built.store.query(count % pattern)
        ], pattern
    assert REVISIONS_GRAPH not in {g.identifier for g in served.dataset.graphs()}
    assert _shapes(served.dataset) == _shapes(expected)


def _shapes(dataset: Dataset) -> Counter[tuple[Node, ...]]:
    """Each named graph's statements, blank nodes all alike (their labels differ by origin)."""
    blank = BNode("blank")
    return Counter(
        tuple(blank if isinstance(term, BNode) else term for term in (s, p, o, graph.identifier))
        for graph in dataset.graphs()
        if graph.identifier != DATASET_DEFAULT_GRAPH_ID
        for s, p, o in graph
    )
