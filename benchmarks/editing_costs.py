"""What an editor and an operator wait for: a service starting on an on-disk Oxigraph store, a
dry run of one rule on a seeded in-memory store, and its commit by a service on the default
in-memory store (a new service for each commit, started before the clock starts). CPU seconds of
this process (threads included), median of 5 after one warm-up; nothing is asserted.

    python -m benchmarks.editing_costs [--runs N]

Run it on two checkouts in turn (each with its own environment) to compare code before and after.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from payerkg.api.app import create_app
from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.services import editing
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from payerkg.stores.oxigraph import OxigraphStore

RULE = Path(__file__).resolve().parents[1] / "tests" / "editing" / "add-uhc-rpm-2027.ttl"


def service_start(folder: Path) -> float:
    store = OxigraphStore(folder)
    began = time.process_time()
    create_app(Settings(), store=store)
    spent = time.process_time() - began
    store.close()
    return spent


def dry_run(base: PolicyGraph, text: str) -> float:
    began = time.process_time()
    editing.dry_run(base, text)
    return time.process_time() - began


def commit(text: str) -> float:
    served = create_app(Settings()).state.served
    began = time.process_time()
    editing.commit(served, editing.RuleChange(text, "benchmark", 1), "benchmark", "editor")
    return time.process_time() - began


def spread(figures: list[float]) -> str:
    return f"{statistics.median(figures):.2f} CPU-s ({min(figures):.2f}-{max(figures):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        seeded = OxigraphStore(folder)
        revisions.seed(seeded)
        seeded.close()
        service_start(folder)
        starts = [service_start(folder) for _ in range(runs)]
    store = MemoryStore()
    revisions.seed(store)
    base = revisions.policy_at_head(store)
    text = RULE.read_text(encoding="utf-8")
    dry_run(base, text)
    dry_runs = [dry_run(base, text) for _ in range(runs)]
    commit(text)
    commits = [commit(text) for _ in range(runs)]
    print(f"service start on an Oxigraph store: {spread(starts)}")
    print(f"dry run of {RULE.name}: {spread(dry_runs)}")
    print(f"commit of {RULE.name}: {spread(commits)}")


if __name__ == "__main__":
    main()
