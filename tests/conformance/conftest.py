"""The conformance suites run on every store backend: in memory, embedded Oxigraph, and two real
SPARQL servers reached over HTTP, Oxigraph and Virtuoso (skipped, saying why, without the Virtuoso
package). Each backend is seeded from the shipped files once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.stores import MemoryStore, Store
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.stores.remote import RemoteStore
from tests.oxigraph_server import OxigraphServer, oxigraph_server
from tests.virtuoso_server import VirtuosoServer, virtuoso_server

BACKENDS = [
    "memory",
    "oxigraph",
    pytest.param("remote", marks=pytest.mark.process),
    pytest.param("virtuoso", marks=[pytest.mark.process, pytest.mark.virtuoso]),
]
"""The remote backend on a real `oxigraph serve` process and on a real Virtuoso server, so their
tests carry the process marker."""


@pytest.fixture(scope="session")
def sparql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """An Oxigraph server on a free loopback port, its data in a temporary folder."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph-server") / "data") as server:
        yield server


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso-server")) as server:
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
        name = "sparql_server" if request.param == "remote" else "virtuoso"
        server: OxigraphServer | VirtuosoServer = request.getfixturevalue(name)
        store = RemoteStore(server.query_url, server.update_url)
    revisions.seed(store)
    yield revisions.policy_at_head(store)
    store.close()
