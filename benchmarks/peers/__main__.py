"""Peers side by side: pyshacl, Apache Jena SHACL and payerkg's compiled engine on the same files.

    python -m benchmarks.peers [--encounters N] [--sample N] [--rounds R] [--warmup N] [--seed S]

The shapes payerkg validates with (structural plus derived from rules) and ``--encounters``
generated encounters are written as Turtle files; each engine reads and parses them (parsing
is timed, as the peers parse too) one per call, then all as one batch data graph. pyshacl, by
far the slowest, judges the first ``--sample`` files; Jena (in its own JVM, timed inside it after
``--warmup`` untimed validations) and the compiled engine judge them all. The engines run in
turns, ``--rounds`` times, so that a busy machine weighs on all alike; each row's ratios are
taken within a round. Prints a Markdown section for docs/benchmarks.md, and a WARNING line
for every encounter the engines disagree on (a result of severity sh:Violation or not).
Without Java or Jena the Jena rows are skipped with a message; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyshacl
import rdflib

from benchmarks.__main__ import machine, other_load, other_load_text
from benchmarks.peers import jena
from benchmarks.peers.runs import Mode, Run, compiled_runs, export, pyshacl_runs
from payerkg import __version__
from payerkg.graph.dataset import load_dataset
from payerkg.validation.validate import compiled_shapes

ROOT = Path(__file__).resolve().parents[2]
COMPILED, PYSHACL = "compiled engine", "pyshacl"


def ratio(value: float) -> str:
    """A rate against another: ``12x`` as fast, or ``1/12`` (a twelfth as fast)."""
    if value < 1:
        return f"1/{1 / value:,.0f}" if value < 0.01 else f"1/{1 / value:.3g}"
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def rate(value: float) -> str:
    return f"{value:,.1f}"


def spread(values: list[float], shown: Callable[[float], str] = ratio) -> str:
    """The median of a row's rounds and their range."""
    return f"{shown(statistics.median(values))} ({shown(min(values))}-{shown(max(values))})"


def table(rounds: list[list[Run]]) -> list[str]:
    """One row per engine and mode: its rate against the compiled engine's and pyshacl's in the
    same round (median and range over rounds), its rate, and how many encounters violate."""
    lines = [
        "| engine, mode | vs compiled engine | vs pyshacl | encounters/s, median (min-max) | encounters "
        "| conform (no result) | violating |",
        "|---|---|---|---|---|---|---|",
    ]
    for first in rounds[0]:
        same = [_find(runs, first.engine, first.mode) for runs in rounds]
        to_compiled = [
            r.rate / _find(runs, COMPILED, r.mode).rate for r, runs in zip(same, rounds, strict=True)
        ]
        to_pyshacl = [
            r.rate / _find(runs, PYSHACL, r.mode).rate for r, runs in zip(same, rounds, strict=True)
        ]
        lines.append(
            f"| {first.engine}, {first.mode} | {spread(to_compiled)} | {spread(to_pyshacl)} | "
            f"{spread([r.rate for r in same], rate)} | {first.count:,} | "
            f"{first.count - len(first.flagged)} | {len(first.violating)} |"
        )
    return lines


def _find(runs: list[Run], engine: str, mode: Mode) -> Run:
    return next(r for r in runs if r.engine == engine and r.mode == mode)


def disagreements(runs: list[Run]) -> list[str]:
    """Every run against the compiled engine's per-call verdicts, on the files both judged: which
    encounters have a result (do not conform) and which have a violation."""
    reference = _find(runs, COMPILED, "per call")
    found = []
    for run in runs:
        for what, theirs, ours in (
            ("do not conform", run.flagged, reference.flagged),
            ("violate", run.violating, reference.violating),
        ):
            expected = {i for i in ours if i < run.count}
            if theirs != expected:
                only_theirs, only_ours = sorted(theirs - expected)[:10], sorted(expected - theirs)[:10]
                found.append(
                    f"WARNING: {run.engine}, {run.mode}: {len(theirs ^ expected)} of {run.count} encounters "
                    f"{what} for one engine only (file indexes; {run.engine} only: "
                    f"{only_theirs}; compiled engine only: {only_ours})"
                )
    return found


def java_version() -> str:
    shown = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return shown.stderr.splitlines()[0] if shown.stderr else "java"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--encounters", type=int, default=400)
    parser.add_argument("--sample", type=int, default=50, help="files judged by pyshacl")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=400, help="untimed Jena validations first")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--java-lib", type=Path, default=jena.JAVA_LIB, help="the folder of Jena's jars")
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "peers", help="the harness's classes")
    args = parser.parse_args()
    started = datetime.now(UTC)
    before = other_load()
    harness = jena.build(args.build, args.java_lib)
    if isinstance(harness, jena.Skipped):
        print(f"Jena SHACL skipped: {harness.reason}", flush=True)
    policy = load_dataset()
    compiled_shapes(policy)  # built once at start-up, as the service does
    rounds: list[list[Run]] = []
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="payerkg-peers-") as folder:
        exported = export(policy, Path(folder), args.encounters, args.seed)
        for number in range(args.rounds):
            gc.collect()
            runs = compiled_runs(policy, exported.encounters)
            runs += pyshacl_runs(exported.shapes, exported.encounters[: args.sample])
            if isinstance(harness, jena.Harness):
                judged = jena.run(harness, exported.shapes, exported.encounters[0].parent, args.warmup)
                if isinstance(judged, jena.Skipped):
                    print(f"Jena SHACL skipped: {judged.reason}", flush=True)
                    harness = judged
                else:
                    runs += judged
            rounds.append(runs)
            warnings += [f"round {number + 1}: {w}" for w in disagreements(runs)]
            print(f"round {number + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    command = (
        f".venv/bin/python -m benchmarks.peers --encounters {args.encounters} --sample {args.sample} "
        f"--rounds {args.rounds} --warmup {args.warmup} --seed {args.seed}"
    )
    jena_text = f", Jena SHACL ({java_version()})" if isinstance(harness, jena.Harness) else " (Jena skipped)"
    lines = [
        "## Peers side by side (issue 21)",
        "",
        f"Measured {started:%Y-%m-%d %H:%M}-{datetime.now(UTC):%H:%M} UTC on {machine()};",
        f"payerkg {__version__}, rdflib {rdflib.__version__}, pyshacl {pyshacl.__version__}{jena_text}.",
        other_load_text(before),
        "",
        f"Reproduce: `make bench-peers` (runs `{command}`).",
        "",
        *table(rounds),
        "",
        *(
            warnings
            or ["All engines agree on which encounters conform and which violate (every round, both modes)."]
        ),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
