"""The endpoint's pyoxigraph evaluator: the locks and refusals that rdflib's path had its own way."""

from __future__ import annotations

import multiprocessing
import socket
from multiprocessing.connection import Connection

import pytest
from rdflib import Dataset

from payerkg.errors import MalformedQuery, NotAcceptable
from payerkg.sparql_endpoint import oxigraph
from payerkg.sparql_endpoint.oxigraph import OxigraphGraphs, oxigraph_graphs
from payerkg.sparql_endpoint.query import ServedGraphs, answer_query


def empty() -> OxigraphGraphs:
    graphs = oxigraph_graphs(Dataset(default_union=True))
    assert graphs is not None
    return graphs


def test_a_predicate_rdf_xml_cannot_write_is_not_acceptable_in_rdf_xml_only() -> None:
    served = ServedGraphs(Dataset(), empty())
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
