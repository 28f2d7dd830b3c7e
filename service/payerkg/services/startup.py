"""The graph that commands and the service start from: the shipped files as revision 1, read
from a start-up snapshot of their content when there is one (``graph/snapshot.py``), which also
seeds an empty in-memory store.

Kept light to import: a one-shot command loads only what it needs."""

from __future__ import annotations

import functools
import gc
from pathlib import Path
from typing import TYPE_CHECKING

from payerkg.graph.dataset import PolicyGraph, default_data_root, files_hash, load_dataset

if TYPE_CHECKING:
    from payerkg.settings import Settings
    from payerkg.stores import Store


COLLECTOR_THRESHOLDS = (50_000, 10, 10)
"""CPython's cycle collector looks at its youngest objects once 700 more have been made than
freed, and at every object after 100 such looks (when the old ones have grown by a quarter). A
loaded revision is hundreds of thousands of long-lived objects (rdflib's indexes, the rule model,
compiled shapes), and an editor's dry run makes a new one: with the defaults the collector took
about a third of a dry run's CPU (docs/benchmarks.md). 50,000 makes whole walks rare while the
youngest generation stays small; reference counting still frees every object not in a cycle."""


def tune_collector() -> None:
    """Collector thresholds for a process that holds a policy graph: the CLI and the service
    set them before they load one (a library user's process keeps its own)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def snapshot_folder(settings: Settings) -> Path | None:
    """Where start-up snapshots are kept, or None when they are turned off."""
    if not settings.snapshots:
        return None
    from payerkg.graph.snapshot import default_folder

    return settings.cache_dir or default_folder()


def warm_up(policy: PolicyGraph) -> None:
    """Build what one-shot commands read and a snapshot keeps: the rule model (coverage index,
    rule statements, vocabularies), the validation shapes' compiled engine (kept without its
    closures: a process that restores it compiles each shape when first reached) and what their
    findings say of the rules they enforce."""
    from payerkg.graph.rules import rule_model
    from payerkg.validation.validate import read_rule_facts

    rule_model(policy).read_look_ups()
    read_rule_facts(policy)


def shipped_files(settings: Settings, max_statements: int | None = None) -> PolicyGraph:
    """The configured data folder's files as revision 1: from a start-up snapshot of their
    content unless snapshots are off (saved first when there is none). Past ``max_statements``,
    refused (``too_many_statements``) before they are all parsed."""
    root = (settings.data_dir or default_data_root()).resolve()
    folder = snapshot_folder(settings)
    if folder is None:
        return _shipped_files(root, files_hash(root), folder, max_statements)
    from payerkg.graph import snapshot

    return _shipped_files(root, snapshot.content_hash(folder, root), folder, max_statements)


@functools.lru_cache(maxsize=4)
def _shipped_files(
    root: Path, content_hash: str, folder: Path | None, max_statements: int | None
) -> PolicyGraph:
    """The files under ``root`` as revision 1, parsed once per content (the hash is the key: a
    changed file is parsed again), so commands run in one process share the parsed graph and
    what it has built (compiled shapes, coverage index). Commands only read it."""
    if folder is None:
        return load_dataset(root, max_statements=max_statements)
    from payerkg.graph import snapshot

    return snapshot.shipped_files(folder, root, content_hash, warm_up, max_statements)


def seed(store: Store, settings: Settings) -> None:
    """Seed an empty store with the shipped files as revision 1. An in-memory store takes them
    as N-Quads from the files' start-up snapshot unless snapshots are off (with the views saved
    there), so that a service starts without parsing the Turtle files; its revision record is
    written now, as always."""
    from payerkg.editing import revisions

    shipped = shipped_files(settings, store.max_statements) if store.kind == "memory" else None
    revisions.seed(store, settings.data_dir, shipped=shipped)
