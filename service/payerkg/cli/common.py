"""What every command shares: failing with exit code 2, dates, and the graph to answer from."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from payerkg.graph.dataset import PolicyGraph, default_data_root, files_hash, load_dataset

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
    shapes; the first command on a new revision builds and saves it."""
    from payerkg.editing import revisions

    folder = snapshot_folder(settings)
    if settings.store == "memory":
        root = (settings.data_dir or default_data_root()).resolve()
        return _shipped_files(root, files_hash(root), folder)
    store = settings.open_store()
    policy = revisions.policy_at_head(store)
    head = revisions.head(store)
    if folder is None or head is None or settings.store != "oxigraph" or settings.store_path is None:
        return policy
    from payerkg.graph import snapshot

    source = f"oxigraph:{settings.store_path.resolve()}"
    return snapshot.with_saved_views(folder, source, head.hash, policy, warm_up)


def snapshot_folder(settings: Settings) -> Path | None:
    """Where start-up snapshots are kept, or None when they are turned off."""
    if not settings.snapshots:
        return None
    from payerkg.graph.snapshot import default_folder

    return settings.cache_dir or default_folder()


def warm_up(policy: PolicyGraph) -> None:
    """Build what one-shot commands read and a snapshot keeps: the rule model (coverage index,
    rule statements, vocabularies) and the validation shapes."""
    from payerkg.graph.rules import rule_model
    from payerkg.validation.validate import shapes_graph

    rule_model(policy).read_look_ups()
    shapes_graph(policy)


@functools.lru_cache(maxsize=4)
def _shipped_files(root: Path, content_hash: str, folder: Path | None = None) -> PolicyGraph:
    """The files under ``root`` as revision 1, parsed once per content (the hash is the key: a
    changed file is parsed again), so commands run in one process share the parsed graph and
    what it has built (compiled shapes, coverage index). Commands only read it. With a snapshot
    ``folder``, loaded from a snapshot of this content (saved there first if there is none)."""
    if folder is None:
        return load_dataset(root)
    from payerkg.graph import snapshot

    return snapshot.shipped_files(folder, root, content_hash, warm_up)


def served_graph(settings: Settings) -> ServedGraph:
    """The configured store's revisions, as a service would serve them (the default in-memory store
    holds the shipped files as revision 1), for questions about a past revision."""
    from payerkg.editing import revisions
    from payerkg.graph.served import ServedGraph
    from payerkg.stores import MemoryStore, Store

    store: Store
    if settings.store == "memory":
        store = MemoryStore()
        revisions.seed(store, settings.data_dir)
    else:
        store = settings.open_store()
    return ServedGraph(store, warm_up=lambda _: None)
