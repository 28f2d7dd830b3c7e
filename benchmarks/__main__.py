"""Run the benchmarks and write docs/benchmarks.md.

python -m benchmarks [--answers N] [--http-requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import rdflib

from benchmarks.encounters import generate
from payerkg import __version__
from payerkg.core.coverage import CoverageQuestion, coverage
from payerkg.core.dataset import load_dataset
from payerkg.core.encounter import parse_encounter
from payerkg.core.validation import shapes_graph, validate_encounter

ROOT = Path(__file__).resolve().parents[1]
CODES = ["99213", "99214", "99204", "90837", "99457", "99454", "98016", "99422", "99442", "98004", "G2012"]
MODALITIES = [None, "audio-video", "audio-only", "remote-monitoring"]
LOCATIONS = [None, "home", "facility"]
STATUSES = [None, "new", "established"]
DATES = [date(2024, 3, 15), date(2025, 5, 1), date(2025, 10, 15), date(2026, 3, 10), date(2028, 3, 1)]


@dataclass
class Timing:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float]

    def row(self) -> str:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))]

        return (
            f"| {self.name} | {self.count} | {self.count / self.seconds:,.1f} | "
            f"{pct(0.50):.1f} | {pct(0.95):.1f} | {pct(0.99):.1f} |"
        )


def questions(n: int, seed: int = 7) -> list[CoverageQuestion]:
    rng = random.Random(seed)
    return [
        CoverageQuestion(
            payer="medicare",
            code=rng.choice(CODES),
            date_of_service=rng.choice(DATES),
            modality=rng.choice(MODALITIES),
            patient_location=rng.choice(LOCATIONS),
            patient_status=rng.choice(STATUSES),
        )
        for _ in range(n)
    ]


def bench_startup() -> tuple[float, int]:
    started = time.perf_counter()
    policy = load_dataset()
    return time.perf_counter() - started, len(policy.dataset)


def bench_in_process(n: int) -> Timing:
    policy = load_dataset()
    qs = questions(n)
    latencies = []
    started = time.perf_counter()
    for q in qs:
        t = time.perf_counter()
        coverage(policy, q)
        latencies.append((time.perf_counter() - t) * 1000)
    return Timing("coverage, in-process", n, time.perf_counter() - started, latencies)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _http_load(base: str, n: int, concurrency: int) -> Timing:
    qs = questions(n, seed=11)
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one(q: CoverageQuestion) -> None:
            params = {"payer": q.payer, "code": q.code, "date": q.date_of_service.isoformat()}
            for key in ("modality", "patient_location", "patient_status"):
                if getattr(q, key):
                    params[key] = getattr(q, key)
            async with semaphore:
                t = time.perf_counter()
                response = await client.get("/coverage", params=params)
                latencies.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(q) for q in qs))
        seconds = time.perf_counter() - started
    return Timing(f"coverage, HTTP ({concurrency} concurrent)", n, seconds, latencies)


@contextmanager
def running_service() -> Iterator[str]:
    """`payerkg serve` on a free loopback port, stopped afterwards."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_http(base: str, n: int, concurrency: int) -> Timing:
    return asyncio.run(_http_load(base, n, concurrency))


def bench_validation_in_process(n: int) -> Timing:
    policy = load_dataset()
    shapes_graph(policy)  # compiled once at start-up, as the service does
    bodies = [json.dumps(e).encode() for e in generate(n)]
    latencies = []
    started = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        validate_encounter(policy, parse_encounter(body, "application/json"))
        latencies.append((time.perf_counter() - t) * 1000)
    return Timing(
        "validation, in-process, one per call (JSON parse included)",
        n,
        time.perf_counter() - started,
        latencies,
    )


def bench_validation_http(base: str, n: int) -> Timing:
    bodies = [json.dumps(e).encode() for e in generate(n, seed=5)]
    latencies = []
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for body in bodies:
            t = time.perf_counter()
            client.post(
                "/validate", content=body, headers={"content-type": "application/json"}
            ).raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
    return Timing("validation, HTTP, one per call", n, time.perf_counter() - started, latencies)


def bench_validation_batch_cli(n: int) -> Timing:
    with tempfile.TemporaryDirectory() as folder:
        batch = Path(folder) / "batch.ndjson"
        batch.write_text("\n".join(json.dumps(e) for e in generate(n, seed=9)) + "\n")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "payerkg.cli.main", "validate", "--batch", str(batch)],
            capture_output=True,
            check=False,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
    return Timing("validation, CLI batch (NDJSON, incl. start-up)", n, seconds, [seconds * 1000 / n])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--http-requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--encounters", type=int, default=200)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    load_seconds, triples = bench_startup()
    timings = [bench_in_process(args.answers)]
    with running_service() as base:
        timings.append(bench_http(base, args.http_requests, args.concurrency))
        timings.append(bench_validation_http(base, args.encounters))
    timings.append(bench_validation_in_process(args.encounters))
    timings.append(bench_validation_batch_cli(args.encounters))
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()};",
        f"payerkg {__version__}, rdflib {rdflib.__version__}.",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m benchmarks --answers "
        f"{args.answers} --http-requests {args.http_requests} --concurrency {args.concurrency} "
        f"--encounters {args.encounters}`).",
        "Coverage questions are drawn with a fixed seed from Medicare codes, dates 2024-2028, "
        "modalities, locations and patient statuses. Encounters come from `benchmarks/encounters.py` "
        "(seeded, about 20% violating). HTTP runs on loopback against `payerkg serve`. Validation "
        "is pyshacl over the structural and derived shapes, so the pyshacl baseline is the engine "
        "itself until a compiled engine lands (issue: performance).",
        "",
        f"Start-up: load of the default graph ({triples:,} triples): {load_seconds:.2f} s.",
        "",
        "| scenario | answers | answers/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
        *[t.row() for t in timings],
        "",
    ]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
