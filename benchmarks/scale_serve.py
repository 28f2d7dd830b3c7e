"""Cold coverage answers through `payerkg serve` on an embedded store of 10^7 statements, with
1 or more requests in flight (docs/benchmarks-scale.md, "Through the service").

    python -m benchmarks.scale_serve --store DIR [--build] [--in-flight 1,4] [--rounds 2]
                                     [--answers 1000] [--before SERVICE_DIR] [--version-index]
                                     [--start-ups N]

--build writes the seeded synthetic graph of 10^7 statements (benchmarks/synthetic.py) into a new
embedded store at DIR, bulk-loaded and compacted (about two minutes), as `benchmarks.scale` does;
without it DIR must hold one. Each run starts a fresh server on the store (so every answer cache
starts empty) and asks the questions of `benchmarks.scale` (half Medicare, half synthetic payers)
from an httpx client in this process, keeping N requests in flight. --before runs the same, in
turns, with another checkout's package folder first on the server's PYTHONPATH (the `service`
folder of a whole `git archive <commit>`: the package reads its data files beside it).
--version-index builds the store's local version index once (graph/version_index.py, in a cache
folder of its own) and runs this code again, in turns, serving with it. --start-ups N times
`payerkg serve` on the store from the command to its first answer on /health, N times per side
(median, min-max; `benchmarks.oneshot`'s timing). It prints a row per run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import oneshot
from benchmarks.__main__ import questions, served
from benchmarks.http_workers import tree_cpu_s
from benchmarks.scale import synthetic_questions
from benchmarks.synthetic import Shape, write
from payerkg.coverage.answer import CoverageQuestion
from payerkg.editing import revisions
from payerkg.services import local_index
from payerkg.settings import Settings
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.web.question import query_pairs

TRIPLES = 10_000_000
SERVE = [sys.executable, "-m", "payerkg.cli.main", "serve"]


def build(store: Path) -> None:
    """The synthetic graph in a new embedded store, compacted, with the shipped files seeded."""
    import pyoxigraph

    quads = store.with_suffix(".nq")
    write(Shape.of_size(TRIPLES), quads)
    raw = pyoxigraph.Store(str(store))
    raw.bulk_load(path=str(quads), format=pyoxigraph.RdfFormat.N_QUADS)
    raw.flush()
    raw.optimize()
    del raw
    quads.unlink()
    seeded = OxigraphStore(store)
    revisions.seed(seeded)
    seeded.close()


def read_once(store: Path) -> None:
    """Read the store's files, so that no run pays for reading them from disk (the first run of
    all did: about half the rate of the others)."""
    for path in store.rglob("*"):
        if path.is_file():
            with path.open("rb") as data:
                while data.read(1 << 24):
                    pass


async def _ask(base: str, asked: list[CoverageQuestion], in_flight: int) -> tuple[float, int]:
    """Seconds to answer every question with ``in_flight`` requests kept open, and the failures."""
    waiting = list(reversed(asked))
    failed = 0
    limits = httpx.Limits(keepalive_expiry=1)  # under uvicorn's 5 s (docs/deployment.md)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def asker() -> None:
            nonlocal failed
            while waiting:
                response = await client.get("/coverage", params=dict(query_pairs(waiting.pop())))
                failed += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(asker() for _ in range(in_flight)))
        return time.perf_counter() - started, failed


def build_index(store: Path, cache: Path) -> float:
    """The store's local version index, built in ``cache``; the seconds it took."""
    settings = Settings(store="oxigraph", store_path=store, cache_dir=cache)
    opened = settings.open_store()
    try:
        return local_index.build_now(opened, settings).seconds
    finally:
        opened.close()


def server_env(store: Path, service: Path | None, cache: Path | None) -> dict[str, str]:
    """A server's environment: on ``store``; with ``cache``, serving with the index built there."""
    env = {"PAYERKG_STORE": "oxigraph", "PAYERKG_STORE_PATH": str(store), "PAYERKG_SNAPSHOTS": "false"}
    if cache is not None:
        env.update(PAYERKG_SNAPSHOTS="true", PAYERKG_CACHE_DIR=str(cache))
    if service is not None:
        env["PYTHONPATH"] = str(service)
    return env


def start_up(store: Path, service: Path | None, cache: Path | None, runs: int) -> str:
    """`payerkg serve` from the command to its first answer on /health, ``runs`` times."""
    timed = oneshot.Timed("serve")
    for _ in range(runs):
        oneshot.serve(SERVE, os.environ | server_env(store, service, cache), timed)
    wall, cpu = statistics.median(timed.wall), statistics.median(timed.cpu)
    return (
        f"start-up of `payerkg serve`, {_side(service, cache)}: {wall:.2f} s "
        f"({min(timed.wall):.2f}-{max(timed.wall):.2f}), CPU {cpu:.2f} s (shutdown included)"
    )


def _side(service: Path | None, cache: Path | None) -> str:
    return "before" if service is not None else "this code" if cache is None else "this code + version index"


def run(store: Path, in_flight: int, answers: int, service: Path | None, cache: Path | None) -> str:
    """One server's answers; with ``cache``, served with the version index built there."""
    payers = Shape.of_size(TRIPLES).payers
    asked = questions(answers // 2, seed=7) + synthetic_questions(payers, answers // 2, seed=5)
    with served(1, server_env(store, service, cache)) as (base, pid):
        cpu = tree_cpu_s(pid)
        seconds, failed = asyncio.run(_ask(base, asked, in_flight))
        server_ms = (tree_cpu_s(pid) - cpu) * 1000 / len(asked)
    side = _side(service, cache)
    return (
        f"| {side} | {in_flight} | {len(asked):,} | {len(asked) / seconds:,.0f} | {server_ms:.2f} | "
        f"{failed} not 200 |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--build", action="store_true", help="write the 10^7-statement store first")
    parser.add_argument("--in-flight", default="1,4", help="requests kept open, each count its own run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--before", type=Path, help="another checkout's package folder, run in turns")
    parser.add_argument("--version-index", action="store_true", help="also serve with the version index")
    parser.add_argument("--start-ups", type=int, default=0, help="time the server's start-up N times")
    args = parser.parse_args()
    if args.build:
        build(args.store)
    sides: list[tuple[Path | None, Path | None]] = [(None, None)]
    if args.version_index:
        cache = Path(tempfile.mkdtemp(prefix="payerkg-index-"))
        print(f"version index built in {build_index(args.store, cache):.1f} s")
        sides.append((None, cache))
    if args.before:
        sides.append((args.before, None))
    read_once(args.store)
    for service, index_cache in sides * (args.start_ups > 0):
        print(start_up(args.store, service, index_cache, args.start_ups), flush=True)
    print("| code | in flight | answers | answers / s | server CPU ms / answer | note |")
    print("|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for service, index_cache in sides:
            for in_flight in (int(n) for n in args.in_flight.split(",")):
                print(run(args.store, in_flight, args.answers, service, index_cache), flush=True)


if __name__ == "__main__":
    main()
