"""What an editor and an operator wait for: seeding an on-disk Oxigraph store from the shipped
files (already read by the process), a service starting on such a store, a dry run of one rule
on a seeded in-memory store, and its commit by a service on the default in-memory store (a new
service for each commit, started before the clock starts), also after a dry run of the same text
on that service, as an editor commits a change just checked. CPU seconds of this process (threads
included), median of 5 after one warm-up, and the seconds of a dry run the cycle collector took
(the service's thresholds are set by its first start, after the seeds); nothing is asserted.

    python -m benchmarks.editing_costs [--runs N]

Run it on two checkouts in turn (each with its own environment) to compare code before and after.
"""

from __future__ import annotations

import argparse
import gc
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


def seed(folder: Path) -> float:
    store = OxigraphStore(folder)
    began = time.process_time()
    revisions.seed(store)
    spent = time.process_time() - began
    store.close()
    return spent


def service_start(folder: Path) -> float:
    store = OxigraphStore(folder)
    began = time.process_time()
    create_app(Settings(), store=store)
    spent = time.process_time() - began
    store.close()
    return spent


class CollectorClock:
    """Seconds the cycle collector takes within ``with`` (its callbacks, timed)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, _: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def dry_run(base: PolicyGraph, text: str) -> tuple[float, float]:
    """CPU seconds of one dry run, and the seconds the cycle collector took of them."""
    with CollectorClock() as clock:
        began = time.process_time()
        editing.dry_run(base, text)
        spent = time.process_time() - began
    return spent, clock.seconds


def commit(text: str, dry_run_first: bool = False) -> float:
    """CPU seconds of one commit on a new service; ``dry_run_first``: after a dry run of the same
    text (untimed), as an editor commits a change just checked."""
    served = create_app(Settings()).state.served
    if dry_run_first:
        editing.dry_run(served.current(), text)
    began = time.process_time()
    editing.commit(served, editing.RuleChange(text, "benchmark", 1), "benchmark", "editor")
    return time.process_time() - began


def spread(figures: list[float], unit: str = "CPU-s") -> str:
    return f"{statistics.median(figures):.2f} {unit} ({min(figures):.2f}-{max(figures):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        seeds = [seed(Path(tmp) / f"seeded-{number}") for number in range(runs + 1)][1:]
        folder = Path(tmp) / "seeded-0"
        service_start(folder)
        starts = [service_start(folder) for _ in range(runs)]
    store = MemoryStore()
    revisions.seed(store)
    text = RULE.read_text(encoding="utf-8")
    # A new graph object of the same revision each time: a change checked once is kept per object.
    dry_run(revisions.policy_at_head(store), text)
    dry_runs, collected = zip(
        *(dry_run(revisions.policy_at_head(store), text) for _ in range(runs)), strict=True
    )
    commit(text)
    commits = [commit(text) for _ in range(runs)]
    checked_commits = [commit(text, dry_run_first=True) for _ in range(runs)]
    print(f"seed of an Oxigraph store: {spread(seeds)}")
    print(f"service start on an Oxigraph store: {spread(starts)}")
    collection = spread(list(collected), "s")
    print(f"dry run of {RULE.name}: {spread(list(dry_runs))}, of which cycle collection {collection}")
    print(f"commit of {RULE.name}: {spread(commits)}")
    print(f"commit of {RULE.name} after its dry run: {spread(checked_commits)}")


if __name__ == "__main__":
    main()
