"""What every command shares: failing with exit code 2, dates, and the graph to answer from."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import NoReturn

import typer

from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph, default_data_root, files_hash, load_dataset
from payerkg.graph.served import ServedGraph
from payerkg.settings import Settings
from payerkg.stores import MemoryStore, Store


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
    PayerKGError when the store cannot be read."""
    if settings.store == "memory":
        root = (settings.data_dir or default_data_root()).resolve()
        return _shipped_files(root, files_hash(root))
    return revisions.policy_at_head(settings.open_store())


@functools.lru_cache(maxsize=4)
def _shipped_files(root: Path, content_hash: str) -> PolicyGraph:
    """The files under ``root`` as revision 1, parsed once per content (the hash is the key: a
    changed file is parsed again), so commands run in one process share the parsed graph and
    what it has built (compiled shapes, coverage index). Commands only read it."""
    return load_dataset(root)


def served_graph(settings: Settings) -> ServedGraph:
    """The configured store's revisions, as a service would serve them (the default in-memory store
    holds the shipped files as revision 1), for questions about a past revision."""
    if settings.store == "memory":
        store: Store = MemoryStore()
        revisions.seed(store, settings.data_dir)
    else:
        store = settings.open_store()
    return ServedGraph(store, warm_up=lambda _: None)
