"""The conformance suites run on every store backend: in memory, embedded Oxigraph, and two real
SPARQL servers reached over HTTP, Oxigraph and Virtuoso (skipped, saying why, without the Virtuoso
package). Each backend is seeded from the shipped files once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

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


@pytest.fixture(scope="session", params=BACKENDS)
def backend_policy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyGraph]:
    """The shipped graph, seeded as revision 1 into a store of each kind. A server is started for
    each setup: pytest may set a parametrized session fixture up again when other tests come
    between its parameters' tests, and a server kept from the first would already hold revision 1."""
    with ExitStack() as stack:
        store: Store
        if request.param == "memory":
            store = MemoryStore()
        elif request.param == "oxigraph":
            store = OxigraphStore(tmp_path_factory.mktemp("oxigraph-embedded"))
        else:
            folder = tmp_path_factory.mktemp(f"{request.param}-server")
            server: OxigraphServer | VirtuosoServer = (
                stack.enter_context(oxigraph_server(folder / "data"))
                if request.param == "remote"
                else stack.enter_context(virtuoso_server(folder))
            )
            store = RemoteStore(server.query_url, server.update_url)
        stack.callback(store.close)
        revisions.seed(store)
        yield revisions.policy_at_head(store)
