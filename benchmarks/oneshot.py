"""One-shot commands: `payerkg coverage` and `payerkg validate one.json` as a user runs them, each a
new process, against the import floor `python -c "import rdflib, pyoxigraph"` measured in the
same run (issue #21's target: within 2x of it); and `payerkg serve` on the shipped graph, from the
command to its first answer on /health (issue #21's target: under 1 s with a snapshot).

    python -m benchmarks.oneshot [--runs N] [--before FOLDER]

Cold runs start on an empty cache folder (no start-up snapshot: the files are parsed, the views
built and the snapshot written); warm runs find the snapshot of the revision. The commands run
in turns (floor, cold, warm, ...) so that other processes on a shared machine weigh on all of
them alike. Wall time is the median of ``--runs``; CPU time (user + system of the child) moves
less with the machine's load and is given beside it. ``--before`` names a folder holding another
checkout's ``service/``, ``ontology/``, ``shapes/`` and ``policies/`` (e.g. from `git archive`),
whose commands are timed the same way, warm: with their own snapshot folder, written first by an
untimed run (a checkout without snapshots runs cold).
Prints the table rows; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.encounters import generate

FLOOR = [sys.executable, "-c", "import rdflib, pyoxigraph"]
COVERAGE = ["coverage", "--payer", "medicare", "--code", "99213", "--date", "2025-06-01"]


@dataclass
class Timed:
    """The runs of one command: wall and CPU seconds of each."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def row(self, floor: Timed) -> str:
        wall, cpu = statistics.median(self.wall), statistics.median(self.cpu)
        floor_wall, floor_cpu = statistics.median(floor.wall), statistics.median(floor.cpu)
        return (
            f"| {self.name} | {wall / floor_wall:.1f}x | {cpu / floor_cpu:.1f}x | {wall:.2f} s "
            f"({min(self.wall):.2f}-{max(self.wall):.2f}) | {cpu:.2f} s |"
        )


def run(command: list[str], env: dict[str, str], timed: Timed) -> None:
    """Run ``command`` once and add its wall and CPU time; a failed command ends the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False, timeout=600)
    timed.wall.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):  # validate exits 1 for a non-conforming encounter
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


Runner = Callable[[list[str], dict[str, str], Timed], None]
"""Runs a command once and adds its times: ``run`` (to its end) or ``serve`` (to its first answer)."""


def serve(command: list[str], env: dict[str, str], timed: Timed) -> None:
    """Start ``command`` (`payerkg serve`) on a free port and add its time to its first answer on
    /health; then stop it (its CPU time includes the shutdown)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode()[-2000:] if process.stderr else ""
                raise SystemExit(f"{' '.join(command)} exited ({process.returncode}): {error}")
            try:
                if client.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.01)
    timed.wall.append(time.perf_counter() - started)
    process.terminate()
    process.communicate(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def measure(runs: int, before: Path | None) -> list[Timed]:
    """The floor and each command, cold and warm, ``runs`` times in turns."""
    with tempfile.TemporaryDirectory(prefix="payerkg-oneshot-") as tmp:
        folder = Path(tmp)
        encounter = folder / "one.json"
        encounter.write_text(json.dumps(generate(1, seed=21)[0]))
        payerkg = [sys.executable, "-m", "payerkg.cli.main"]
        validate = ["validate", str(encounter)]
        base = {k: v for k, v in os.environ.items() if not k.startswith("PAYERKG_")}
        warm_env = base | {"PAYERKG_CACHE_DIR": str(folder / "warm")}
        old_env = base | {"PAYERKG_CACHE_DIR": str(folder / "before")}
        if before is not None:
            old_env["PYTHONPATH"] = str(before / "service")
        floor = Timed('`python -c "import rdflib, pyoxigraph"` (the floor)')
        rows: list[tuple[Timed, list[str], Callable[[int], dict[str, str]], Runner]] = [
            (floor, FLOOR, lambda i: base, run)
        ]

        cold_runs = iter(range(1_000_000))

        def cold(i: int) -> dict[str, str]:  # a new, empty folder for every cold run
            return base | {"PAYERKG_CACHE_DIR": str(folder / f"cold-{next(cold_runs)}")}

        def off(i: int) -> dict[str, str]:
            return base | {"PAYERKG_SNAPSHOTS": "false"}

        def warm(i: int) -> dict[str, str]:
            return warm_env

        def old(i: int) -> dict[str, str]:
            return old_env

        for name, arguments in (("coverage", COVERAGE), ("validate one.json", validate)):
            command = payerkg + arguments
            rows += [
                (Timed(f"`payerkg {name}`, cold (no snapshot: parse, build, save)"), command, cold, run),
                (Timed(f"`payerkg {name}`, warm (snapshot of this revision)"), command, warm, run),
                (Timed(f"`payerkg {name}`, snapshots off (`PAYERKG_SNAPSHOTS=false`)"), command, off, run),
            ]
            if before is not None:
                rows.append((Timed(f"`payerkg {name}`, before this change (warm)"), command, old, run))
        serving = [*payerkg, "serve"]
        rows += [
            (Timed("`payerkg serve` to its first answer, warm (snapshot)"), serving, warm, serve),
            (Timed("`payerkg serve` to its first answer, snapshots off"), serving, off, serve),
        ]
        if before is not None:
            rows.append(
                (
                    Timed("`payerkg serve` to its first answer, before this change (warm)"),
                    serving,
                    old,
                    serve,
                )
            )
        run(payerkg + COVERAGE, warm_env, Timed("warming"))  # the warm runs' snapshot
        if before is not None:
            run(payerkg + COVERAGE, old_env, Timed("warming"))  # and the other checkout's, if it makes one
        for i in range(runs):
            for timed, command, env, runner in rows:
                runner(command, env(i), timed)
        return [timed for timed, _, _, _ in rows]


def table(timings: list[Timed]) -> list[str]:
    floor = timings[0]
    return [
        "| command | wall vs floor | CPU vs floor | wall, median (min-max) | CPU, median |",
        "|---|---|---|---|---|",
        *(t.row(floor) for t in timings),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="a folder with another checkout's service/ and data")
    args = parser.parse_args()
    print("\n".join(table(measure(args.runs, args.before))))


if __name__ == "__main__":
    main()
