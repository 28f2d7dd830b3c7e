"""What every command shares: failing with exit code 2, dates, and the graph to answer from."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, NoReturn

import typer

from payerkg.graph.dataset import PolicyGraph
from payerkg.services import startup

if TYPE_CHECKING:  # imported where used, so that a one-shot command loads only what it needs
    from payerkg.graph.served import ServedGraph
    from payerkg.settings import Settings


def fail(message: str) -> NoReturn:
    typer.echo(f"payerkg: {message}", err=True)
    raise typer.Exit(2)


def parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--{name} must be a date as YYYY-MM-DD")


def current_policy(settings: Settings) -> PolicyGraph:
    """The graph commands answer from: the shipped files as revision 1 of an in-memory store (as a
    service started on them answers), or the newest revision of the configured store. Raises
    PayerKGError when the store cannot be read.

    Unless PAYERKG_SNAPSHOTS is false, a start-up snapshot of the revision in the cache folder
    (``graph/snapshot.py``) stands in for parsing the files and building the rule model and the
    shapes; the first command on a new revision builds and saves it. The store's local version
    index there (``graph/version_index.py``), if one was built, is read instead of the store's
    per (payer, code) reads."""
    if settings.store == "memory":
        return startup.shipped_files(settings)
    from payerkg.editing import revisions

    store = settings.open_store()
    policy = revisions.policy_at_head(store)
    head = revisions.head(store)
    folder = startup.snapshot_folder(settings)
    if folder is None or head is None:
        return policy
    from payerkg.services import local_index

    indexed = local_index.for_store(settings, store, folder)
    if indexed is None:
        return policy
    if settings.store == "oxigraph":
        from payerkg.graph import snapshot

        policy = snapshot.with_saved_views(folder, indexed.source, head.hash, policy, startup.warm_up)
    indexed.attach(policy)  # built by the service or `payerkg store index`, never by a one-shot command
    return policy


def served_graph(settings: Settings) -> ServedGraph:
    """The configured store's revisions, as a service would serve them (the default in-memory store
    holds the shipped files as revision 1), for questions about a past revision."""
    from payerkg.graph.served import ServedGraph
    from payerkg.stores import MemoryStore

    if settings.store != "memory":
        return ServedGraph(settings.open_store(), warm_up=lambda _: None)
    store = MemoryStore()
    startup.seed(store, settings)
    return ServedGraph(store, warm_up=lambda _: None)
