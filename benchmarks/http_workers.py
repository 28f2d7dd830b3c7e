"""HTTP with workers (issue 21): validation over HTTP with many requests in flight, one worker
against two, the NDJSON batch route and coverage at a fixed rate, each beside the in-process rate
measured in the same run.

    python -m benchmarks.http_workers [--seconds S] [--connections C] [--rate R] [--encounters N]

The load for /validate comes from wrk (Debian's `wrk`, `make bench-http` installs it) with
`benchmarks/validate.lua`: a C program with one thread, so that the client takes little of the
CPU the server needs. It prints the section of docs/benchmarks.md; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvloop

from benchmarks.__main__ import (
    COVERAGE_COLD,
    bench_batch_in_process,
    bench_compiled,
    bench_coverage,
    machine,
    other_load,
    other_load_text,
    questions,
    served,
)
from benchmarks.encounters import generate
from payerkg.graph.dataset import load_dataset
from payerkg.graph.rules import rule_model
from payerkg.validation.validate import compiled_shapes
from payerkg.web.question import query_string

HERE = Path(__file__).parent
WARM_UP_S = 5
"""wrk runs this long before each measurement: every worker compiles its shapes on first use."""


@dataclass
class Row:
    ratio: float
    yardstick: str
    scenario: str
    count: int
    rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    server_cpu_ms: float | None
    note: str = ""

    def line(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        return (
            f"| {self.ratio:.2f}x {self.yardstick} | {self.scenario} | {self.count:,} | {self.rate:,.0f} | "
            f"{ms(self.p50_ms)} | {ms(self.p95_ms)} | {ms(self.p99_ms)} | {ms(self.server_cpu_ms)} | "
            f"{self.note} |"
        )


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children, from /proc."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's id
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wrk(base: str, bodies: Path, connections: int, seconds: float) -> dict[str, float]:
    """One wrk run (one thread) posting the encounters; its RESULT line."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(HERE / "validate.lua"),
            base,
        ],
        env={**os.environ, "BODIES": str(bodies)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def client_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_validate_http(
    workers: int, bodies: Path, connections: int, seconds: float, yardstick: float
) -> Row:
    with served(workers) as (base, pid):
        wrk(base, bodies, connections, WARM_UP_S)
        server_before, client_before = tree_cpu_s(pid), client_cpu_s()
        result = wrk(base, bodies, connections, seconds)
        server_cpu = tree_cpu_s(pid) - server_before
        client_cpu = client_cpu_s() - client_before
    count = int(result["requests"])
    rate = count / result["seconds"]
    return Row(
        rate / yardstick,
        "in-process one per call",
        f"validation, HTTP, {connections} connections, {workers} worker{'s' if workers > 1 else ''} (wrk)",
        count,
        rate,
        result["p50"],
        result["p95"],
        result["p99"],
        server_cpu * 1000 / count,
        f"{int(result['not_2xx'] + result['socket_errors'])} not 2xx; wrk used {client_cpu:.1f} CPU-s "
        f"of the {seconds:g} s",
    )


def bench_batch_http(workers: int, lines: list[bytes], yardstick: float) -> Row:
    """One POST /validate/batch of every line, its streamed answer read to the end."""
    body = b"\n".join(lines) + b"\n"
    with served(workers) as (base, pid), httpx.Client(base_url=base, timeout=600) as client:
        warm = b"\n".join(lines[:200])  # the worker that answers compiles its shapes first
        for _ in range(2 * workers):
            client.post("/validate/batch", content=warm, headers={"content-type": "application/x-ndjson"})
        server_before = tree_cpu_s(pid)
        started = time.perf_counter()
        with client.stream(
            "POST", "/validate/batch", content=body, headers={"content-type": "application/x-ndjson"}
        ) as response:
            answered = sum(1 for line in response.iter_lines() if line)
        seconds = time.perf_counter() - started
        server_cpu = tree_cpu_s(pid) - server_before
    rate = answered / seconds
    return Row(
        rate / yardstick,
        "in-process batch",
        f"POST /validate/batch, {len(lines):,} NDJSON lines in one request, {workers} worker(s)",
        answered,
        rate,
        None,
        None,
        None,
        server_cpu * 1000 / answered,
        "one request is answered by one worker, on one core",
    )


@dataclass
class OpenLoop:
    latencies_ms: list[float]
    failed: int
    seconds: float


async def open_loop(base: str, targets: list[str], rate: float) -> OpenLoop:
    """GET each target at a fixed rate whatever the answers' speed (open loop), over kept-alive
    connections opened as needed. Latency counts from when the request was due, so a late send is
    counted against the server. Plain asyncio streams on uvloop: httpx's pool cost the client
    more CPU than the server at 500 requests/s."""
    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    failed = 0

    async def one(target: str, due: float) -> None:
        nonlocal failed
        while True:  # the server closes a connection kept idle too long: then a new one
            reused = bool(idle)
            reader, writer = idle.pop() if reused else await asyncio.open_connection(host, port)
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if not reused:
                    raise
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
        )
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - due) * 1000)
        failed += not lines[0].split(" ")[1].startswith("2")
        idle.append((reader, writer))

    started = time.perf_counter()
    tasks = []
    for i, target in enumerate(targets):
        due = started + i / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(target, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    for _, writer in idle:
        writer.close()
    return OpenLoop(latencies, failed, seconds)


def bench_coverage_http(workers: int, rate: float, seconds: float, yardstick: float) -> Row:
    targets = []
    for q in questions(int(rate * seconds), seed=11):
        targets.append("/coverage?" + query_string(q))
    with served(workers) as (base, pid):
        uvloop.run(open_loop(base, targets[: int(rate)], rate))  # warm: the rule model, connections
        server_before, client_before = tree_cpu_s(pid), _own_cpu_s()
        loop = uvloop.run(open_loop(base, targets, rate))
        server_cpu, client_cpu = tree_cpu_s(pid) - server_before, _own_cpu_s() - client_before
    lat = sorted(loop.latencies_ms)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))]

    achieved = len(targets) / loop.seconds
    return Row(
        achieved / yardstick,
        "in-process cold",
        f"coverage, HTTP at {rate:.0f} requests/s (open loop), {workers} worker{'s' if workers > 1 else ''}",
        len(targets),
        achieved,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        server_cpu * 1000 / len(targets),
        f"{loop.failed} not 2xx; distinct questions; the client (asyncio streams) used "
        f"{client_cpu:.1f} CPU-s of the {loop.seconds:.0f} s",
    )


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--encounters", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=8000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench-http` installs it (apt-get install wrk)")
    before = other_load()
    load_started = os.getloadavg()[0]
    encounters = generate(args.encounters, seed=5)
    policy = load_dataset()
    rule_model(policy)
    compiled_shapes(policy)
    in_process = bench_compiled(policy, [json.dumps(e).encode() for e in encounters])
    batch_in_process = bench_batch_in_process(args.batch)
    coverage_cold = next(t for t in bench_coverage(args.encounters) if t.name == COVERAGE_COLD)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        bodies = Path(folder) / "bodies.ndjson"
        bodies.write_text("".join(json.dumps(e) + "\n" for e in encounters))
        for workers in (1, 2):
            rows.append(bench_validate_http(workers, bodies, args.connections, args.seconds, in_process.rate))
    lines = [json.dumps(e).encode() for e in generate(args.batch, seed=9)]
    rows.append(bench_batch_http(2, lines, batch_in_process.rate))
    for workers in (1, 2):
        rows.append(bench_coverage_http(workers, args.rate, args.seconds, coverage_cold.rate))
    command = (
        f".venv/bin/python -m benchmarks.http_workers --seconds {args.seconds:g} --connections "
        f"{args.connections} --rate {args.rate:g} --encounters {args.encounters} --batch {args.batch}"
    )
    print(
        "\n".join(
            [
                f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
                f"{load_started:.1f} at the start, {os.getloadavg()[0]:.1f} at the end. "
                + other_load_text(before),
                "",
                f"Reproduce: `make bench-http` (runs `{command}`).",
                "",
                "Yardsticks, in this process in the same run: "
                f"validation one per call {in_process.rate:,.0f}/s (one core), "
                f"in-process batch {batch_in_process.rate:,.0f}/s ({os.cpu_count()} forked workers), "
                f"coverage (distinct questions, cold) {coverage_cold.rate:,.0f}/s.",
                "",
                "| vs yardstick | scenario | count | per second | p50 ms | p95 ms | p99 ms "
                "| server CPU ms per request | note |",
                "|---|---|---|---|---|---|---|---|---|",
                *(row.line() for row in rows),
            ]
        )
    )


if __name__ == "__main__":
    main()
