"""The conformance suites run on every store backend: in memory, embedded Oxigraph, and a real
Oxigraph SPARQL server reached over HTTP. Each backend is seeded from the shipped files once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.stores import MemoryStore, Store
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.stores.remote import RemoteStore
from tests.oxigraph_server import OxigraphServer, oxigraph_server

BACKENDS = ["memory", "oxigraph", pytest.param("remote", marks=pytest.mark.process)]
"""The remote backend is a real `oxigraph serve` process, so its tests carry the process marker."""


@pytest.fixture(scope="session")
def sparql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """An Oxigraph server on a free loopback port, its data in a temporary folder."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph-server") / "data") as server:
        yield server


@pytest.fixture(scope="session", params=BACKENDS)
def backend_policy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyGraph]:
    """The shipped graph, seeded as revision 1 into a store of each kind."""
    store: Store
    if request.param == "memory":
        store = MemoryStore()
    elif request.param == "oxigraph":
        store = OxigraphStore(tmp_path_factory.mktemp("oxigraph-embedded"))
    else:
        server: OxigraphServer = request.getfixturevalue("sparql_server")
        store = RemoteStore(server.query_url, server.update_url, server.store_url)
    revisions.seed(store)
    yield revisions.policy_at_head(store)
    store.close()
