"""How coverage and validation costs grow with the policy graph, on each store backend.

    python -m benchmarks.scale [--sizes 100000,1000000,10000000] [--answers N] [--encounters N]
                               [--memory-max T] [--validation-max T] [--no-compact]
                               [--backends memory,oxigraph,remote] [--askers 1,2]
                               [--version-index off,on] [--output docs/benchmarks-scale.md]

For each size a seeded synthetic graph (benchmarks/synthetic.py) is written as N-Quads, loaded
into each backend (in-memory rdflib up to --memory-max triples; embedded Oxigraph; an Oxigraph
server), the shipped files are seeded on top, and one child process per (size, backend) measures
start-up, memory and answers, so that peak memory is that run's own. Nothing is asserted.
With --askers 1,2 each (size, backend) is measured again with two askers: threads answering the
questions side by side, as the service's thread pool answers concurrent requests (a new child,
so the second pass reads as cold a store as the first). With --version-index off,on each is
measured again with the local version index (graph/version_index.py) built after start-up (its
build time reported) for a store read per (payer, code); a store read whole has no use for it.

Oxigraph stores are compacted after their bulk load (``Store.optimize``, ``oxigraph optimize``)
unless --no-compact: a freshly bulk-loaded store kept its data in many overlapping files, and
each index look-up cost 4-8 times as much (docs/benchmarks-scale.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.oxigraph_server import BINARY, oxigraph_server

from benchmarks.__main__ import machine, other_load, questions
from benchmarks.encounters import generate
from benchmarks.synthetic import GROUPS, Shape, write
from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import rule_model
from payerkg.services.local_index import LocalIndex
from payerkg.stores import MemoryStore, Store, new_dataset
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.stores.remote import RemoteStore
from payerkg.validation.encounter import encounter_from_json
from payerkg.validation.validate import compiled_shapes, validate_encounter

ROOT = Path(__file__).resolve().parents[1]
CODES = ("99213", "90837", "99457", "98980")  # one code each of some synthetic rules' groups


def synthetic_questions(payers: int, n: int, seed: int) -> list[CoverageQuestion]:
    """Questions to synthetic payers about codes their rules cover, on dates across their years."""
    rng = random.Random(seed)
    first = date(2020, 1, 1).toordinal()
    return [
        CoverageQuestion(
            payer=f"syn-{rng.randrange(payers)}",
            code=rng.choice(CODES),
            date_of_service=date.fromordinal(first + rng.randrange(10 * 365)),
            modality=rng.choice([None, "audio-video", "audio-only"]),
        )
        for _ in range(n)
    ]


def measure(store: Store, shape: Shape, args: argparse.Namespace) -> dict[str, Any]:
    """Start-up, memory and rates on a loaded store (run in a child process)."""
    started = time.perf_counter()
    revisions.seed(store)
    policy = revisions.policy_at_head(store)
    model = rule_model(policy)
    result: dict[str, Any] = {"startup_s": time.perf_counter() - started}
    if args.version_index == "off":
        result["version_index"] = "off"
    elif model.complete:
        result["version_index"] = "unused: read whole"
    else:
        result["version_index"] = f"built in {_with_version_index(store, policy):.1f} s"
    half = args.answers // 2
    asked = questions(half, seed=7) + synthetic_questions(shape.payers, half, seed=5)
    latencies = []
    before = other_load()
    began, cpu = time.perf_counter(), time.process_time()

    def answer(question: CoverageQuestion) -> None:
        t = time.perf_counter()
        coverage(policy, question)
        latencies.append((time.perf_counter() - t) * 1000)

    with ThreadPoolExecutor(args.askers) as askers:  # in the order asked, as requests arrive
        list(askers.map(answer, asked))
    result["coverage_rate"] = len(asked) / (time.perf_counter() - began)
    result["coverage_cpu_ms"] = (time.process_time() - cpu) * 1000 / len(asked)
    result["coverage_ms"] = _percentiles(latencies)
    after = other_load()
    if before is not None and after is not None:  # cores busy on the machine, this process's included
        result["busy_cores"] = (after[1] - before[1]) / (after[0] - before[0])
    if shape.triples <= args.validation_max:
        began = time.perf_counter()
        compiled_shapes(policy)
        result["compile_s"] = time.perf_counter() - began
        encounters = [encounter_from_json(e) for e in generate(args.encounters, seed=42)]
        began = time.perf_counter()
        for encounter in encounters:
            validate_encounter(policy, encounter)
        result["validation_rate"] = len(encounters) / (time.perf_counter() - began)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _with_version_index(store: Store, policy: PolicyGraph) -> float:
    """Build the local version index of ``policy`` (a revision of ``store``) and give its rule
    model the index; the seconds the build took."""
    indexed = LocalIndex(store, Path(tempfile.mkdtemp(prefix="payerkg-index-")), "benchmark")
    seconds = indexed.build(policy)
    assert indexed.attach(policy), "an index just built serves its revision"
    return seconds


def run_one(backend: str, quads: Path, triples: int, args: argparse.Namespace) -> dict[str, Any]:
    """Load ``quads`` into a fresh store of ``backend`` and measure it (child process)."""
    work = Path(tempfile.mkdtemp(prefix="payerkg-scale-"))
    try:
        return _load_and_measure(backend, quads, triples, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a store of 10^7 statements takes 2-3 GB


def _load_and_measure(
    backend: str, quads: Path, triples: int, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    shape = Shape.of_size(triples)
    began = time.perf_counter()
    if backend == "memory":
        dataset = new_dataset()
        dataset.parse(quads, format="nquads")
        store: Store = MemoryStore(dataset)
        loaded = time.perf_counter() - began
        return {"load_s": loaded, **measure(store, shape, args)}
    if backend == "oxigraph":
        import pyoxigraph

        raw = pyoxigraph.Store(str(work / "store"))
        raw.bulk_load(path=str(quads), format=pyoxigraph.RdfFormat.N_QUADS)
        raw.flush()
        if args.compact:
            raw.optimize()
        del raw
        loaded = time.perf_counter() - began
        return {"load_s": loaded, **measure(OxigraphStore(work / "store"), shape, args)}
    subprocess.run(
        [str(BINARY), "load", "--location", str(work / "server"), "--file", str(quads)],
        check=True,
        capture_output=True,
    )
    if args.compact:
        subprocess.run(
            [str(BINARY), "optimize", "--location", str(work / "server")], check=True, capture_output=True
        )
    loaded = time.perf_counter() - began
    with oxigraph_server(work / "server") as server:
        store = RemoteStore(server.query_url, server.update_url)
        return {"load_s": loaded, **measure(store, shape, args)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--encounters", type=int, default=300)
    parser.add_argument("--memory-max", type=float, default=1e6, help="largest graph tried in rdflib")
    parser.add_argument("--validation-max", type=float, default=1e6, help="largest graph validated")
    parser.add_argument("--backends", default="memory,oxigraph,remote", help="which stores to measure")
    parser.add_argument(
        "--askers", default="1", help="threads answering side by side, each count its own run (1,2)"
    )
    parser.add_argument(
        "--version-index", default="off", help="off, on, or off,on: answers without and with the local index"
    )
    parser.add_argument("--no-compact", dest="compact", action="store_false", help="skip compacting Oxigraph")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks-scale.md")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "QUADS", "TRIPLES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.askers = int(args.askers)
        backend, quads, triples = args.child
        print(json.dumps(run_one(backend, Path(quads), int(triples), args)))
        return
    rows = []
    for size in (int(float(s)) for s in args.sizes.split(",")):
        shape = Shape.of_size(size)
        quads = Path(tempfile.mkdtemp(prefix="payerkg-synthetic-")) / "synthetic.nq"
        written = write(shape, quads)
        for backend in args.backends.split(","):
            if backend == "memory" and written > args.memory_max:
                rows.append(_skipped(written, shape, backend, f"over --memory-max {args.memory_max:,.0f}"))
                continue
            for askers, indexed in itertools.product(args.askers.split(","), args.version_index.split(",")):
                command = [
                    *(sys.executable, "-m", "benchmarks.scale", *_passed(args)),
                    *("--askers", askers, "--version-index", indexed),
                ]
                child = subprocess.run(
                    [*command, "--child", backend, str(quads), str(written)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if child.returncode != 0:
                    last = child.stderr.strip().splitlines()[-1:]
                    rows.append(_skipped(written, shape, backend, f"failed: {' '.join(last)}"))
                    continue
                result = json.loads(child.stdout.strip().splitlines()[-1])
                rows.append(_row(written, shape, backend, int(askers), result))
                print(rows[-1], flush=True)
        shutil.rmtree(quads.parent)
    _write(args, rows)


def _percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    picks = (ordered[min(len(ordered) - 1, int(p * len(ordered)))] for p in (0.5, 0.95, 0.99))
    return " / ".join(f"{ms:.2f}" for ms in picks)


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        "--answers", str(args.answers),
        "--encounters", str(args.encounters),
        "--validation-max", str(args.validation_max),
        *([] if args.compact else ["--no-compact"]),
    ]  # fmt: skip


def _row(triples: int, shape: Shape, backend: str, askers: int, r: dict[str, Any]) -> str:
    validation = f"{r['compile_s']:.1f} | {r['validation_rate']:,.0f}" if "validation_rate" in r else "- | -"
    busy = f"{r['busy_cores']:.1f}" if "busy_cores" in r else "-"
    return (
        f"| {triples:,} | {shape.payers:,} | {backend} | {askers} | {r['load_s']:.1f} | "
        f"{r['startup_s']:.1f} | {r['version_index']} | "
        f"{r['peak_rss_mb']:,.0f} | {r['coverage_rate']:,.0f} | {r['coverage_cpu_ms']:.2f} | {busy} | "
        f"{r['coverage_ms']} | {validation} |"
    )


def _skipped(triples: int, shape: Shape, backend: str, why: str) -> str:
    return f"| {triples:,} | {shape.payers:,} | {backend} | | {why} | | | | | | | | | |"


def _write(args: argparse.Namespace, rows: list[str]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks: growth with the policy graph",
        "",
        f"Measured {stamp} on {machine()}.",
        "",
        f"Reproduce: `make bench-scale` (runs `.venv/bin/python -m benchmarks.scale --sizes {args.sizes} "
        f"--answers {args.answers} --encounters {args.encounters} --memory-max {args.memory_max:.0f} "
        f"--validation-max {args.validation_max:.0f} --backends {args.backends} --askers {args.askers} "
        f"--version-index {args.version_index}{'' if args.compact else ' --no-compact'}`).",
        "",
        "- Graph: the shipped files plus a seeded synthetic graph (`benchmarks/synthetic.py`): payers x "
        f"{len(GROUPS)} code groups x 4 modalities x 10 yearly versions, 15 statements a version.",
        "- Each (size, backend) runs in its own process: load (rdflib parse; Oxigraph bulk load; "
        "`oxigraph load` before the server starts; then each Oxigraph store compacted), start-up (seed "
        "the shipped files, open the newest revision, warm up), peak memory of that process, then "
        "coverage answers (half Medicare questions, half questions to synthetic payers; all distinct) "
        "and, up to --validation-max triples, shape compilation and validation one encounter per call.",
        "- In memory and embedded Oxigraph up to 2 x 10^6 statements read every rule statement at start-up; "
        "the remote store (and a larger embedded one) reads per (payer, code) when first asked, and the "
        "statements of the versions that govern an answer's date, so its start-up stays flat and its "
        "first answers pay round trips to the store.",
        "- Coverage CPU ms is this process's CPU time per answer (a remote server's is not in it); busy "
        "cores is the CPU time of the whole machine during the answers per second of wall time.",
        "- Askers: threads answering the same questions side by side, as the service's thread pool "
        "answers concurrent requests; each count is its own process and load.",
        "- Version index: with --version-index on, the local version index (`graph/version_index.py`) "
        "is built after start-up (the time it took) and answers read a payer's versions for a code from "
        "it; a store read whole has no use for it.",
        "",
        "| triples | payers | backend | askers | load s | start-up s | version index | peak MB | "
        "coverage / s | coverage CPU ms | busy cores | coverage ms p50 / p95 / p99 | shape compile s | "
        "validation / s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
