"""Run the benchmarks and write docs/benchmarks.md.

    python -m benchmarks [--answers N] [--encounters N] [--baseline N] [--rate R] [--seconds S]
                         [--only SCENARIO ...]

Every figure is measured in this run, on this machine; nothing is asserted. A full run writes
docs/benchmarks.md; a run of some scenarios (--only) prints their rows and writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pyshacl
import rdflib

from benchmarks.claim_formats import CPT, to_837p, to_fhir_bundle
from benchmarks.encounters import generate
from benchmarks.oneshot import measure as measure_oneshot
from benchmarks.oneshot import table as oneshot_table
from payerkg import __version__
from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.graph.rules import rule_model
from payerkg.services.validation import claim_records, read_x12, validate_batch
from payerkg.validation.encounter import parse_encounter
from payerkg.validation.validate import compiled_shapes, shapes_graph, validate_encounter
from payerkg.web.question import query_pairs

ROOT = Path(__file__).resolve().parents[1]
CODES = ["99213", "99214", "99204", "90837", "99457", "99454", "98016", "99422", "99442", "98004", "G2012"]
MODALITIES = [None, "audio-video", "audio-only", "remote-monitoring"]
LOCATIONS = [None, "home", "facility"]
STATUSES = [None, "new", "established"]
BEFORE_AND_AFTER = "## Before and after"
SCENARIOS = ("coverage", "validation", "batch", "http", "formats", "pages", "inputs", "oneshot", "sparql")
ONESHOT_RUNS = 7


FHIR = "application/fhir+json"


@dataclass
class Timing:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float]
    note: str = ""
    yardstick: str | None = None
    """The row this one is compared with (a key of YARDSTICKS), measured in the same run."""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, share: float) -> str:
        lat = sorted(self.latencies_ms)
        return f"{lat[min(len(lat) - 1, int(share * len(lat)))]:.2f}" if lat else "-"


PYSHACL = "validation, in-process, one per call, plain pyshacl (baseline)"
COMPILED = "validation, in-process, one per call, compiled engine"
LOOK_UP = "coverage's rule versions, one SPARQL look-up per question (pyoxigraph), in-process"
COVERAGE_COLD = "coverage, in-process, distinct questions (cold)"
SPARQL_RDFLIB = "/sparql, in-process, the example and test queries in turn, rdflib (before)"
JSON_CALL = "input JSON, in-process, one per call"
JSON_BATCH = "input JSON, in-process batch (all parsed, then all judged)"
MATRIX = "coverage matrix (every payer x 10 codes), in-process, no page"
NDJSON_CLI = "the claims' encounters as NDJSON, CLI batch, process start-up included"
JSON_HTTP = "the FHIR rows' encounters as JSON, HTTP, one per call"
YARDSTICKS = {
    PYSHACL: "pyshacl",
    COMPILED: "in-process validation",
    LOOK_UP: "one SPARQL look-up",
    COVERAGE_COLD: "in-process cold coverage",
    SPARQL_RDFLIB: "rdflib",
    MATRIX: "the matrix without its page",
    JSON_CALL: "JSON",
    JSON_BATCH: "JSON batch",
    NDJSON_CLI: "NDJSON",
    JSON_HTTP: "JSON over HTTP",
}
"""Each yardstick row's name, and what a row compared with it calls it."""


def table_rows(runs: list[list[Timing]]) -> list[str]:
    """One row per scenario over repeated runs: first its ratio to its yardstick (the median of
    the runs' ratios, each against the yardstick of its own run, and their spread), then its rate
    (median and spread); latencies from the run of the median rate."""
    by_name: dict[str, list[Timing]] = {}
    ratios: dict[str, list[float]] = {}
    for run in runs:
        in_run = {timing.name: timing.rate for timing in run}
        for timing in run:
            by_name.setdefault(timing.name, []).append(timing)
            if timing.yardstick in in_run:
                ratios.setdefault(timing.name, []).append(timing.rate / in_run[timing.yardstick])
    rows = []
    for name, timings in by_name.items():
        ranked = sorted(timings, key=lambda t: t.rate)
        middle = ranked[len(ranked) // 2]
        rates = [t.rate for t in ranked]
        if middle.yardstick is None and name in YARDSTICKS:
            compared = "yardstick"
        elif name in ratios and middle.yardstick is not None:
            found, against = ratios[name], YARDSTICKS[middle.yardstick]
            compared = f"{_ratio(statistics.median(found))} {against} ({_spread(found, _ratio)})"
        else:
            compared = "-"
        rows.append(
            f"| {compared} | {name} | {middle.count:,} | {statistics.median(rates):,.0f} "
            f"({_spread(rates, lambda r: f'{r:,.0f}')}) | {middle.percentile(0.50)} | "
            f"{middle.percentile(0.95)} | {middle.percentile(0.99)} | {middle.note} |"
        )
    return rows


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2f}x"


def _spread(values: list[float], shown: Callable[[float], str]) -> str:
    return f"{shown(min(values))}-{shown(max(values))}" if len(values) > 1 else "one run"


def questions(n: int, seed: int) -> list[CoverageQuestion]:
    """Distinct coverage questions (a seeded draw over codes, dates 2024-2028 and facets)."""
    rng = random.Random(seed)
    first = date(2024, 1, 1).toordinal()
    found: dict[CoverageQuestion, None] = {}
    while len(found) < n:
        question = CoverageQuestion(
            payer="medicare",
            code=rng.choice(CODES),
            date_of_service=date.fromordinal(first + rng.randrange(5 * 365)),
            modality=rng.choice(MODALITIES),
            patient_location=rng.choice(LOCATIONS),
            patient_status=rng.choice(STATUSES),
        )
        found[question] = None
    return list(found)


def timed(name: str, calls: list, note: str = "", yardstick: str | None = None) -> Timing:  # type: ignore[type-arg]
    latencies = []
    started = time.perf_counter()
    for call in calls:
        t = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t) * 1000)
    return Timing(name, len(calls), time.perf_counter() - started, latencies, note, yardstick)


def bench_coverage(n: int) -> list[Timing]:
    """Cold and warm answers; the cold ones' yardstick is the least a SPARQL-backed answer does:
    one query for the question's (payer, code) rule versions, on the same graph."""
    policy = load_dataset()
    model = rule_model(policy)  # as the service does at start-up (measured there)
    distinct = questions(n, seed=7)
    keys = [(model.payer(q.payer).iri, model.code(q.code)) for q in distinct]
    look_up = timed(
        LOOK_UP,
        [lambda p=p, c=c: policy.select("payer-code-index", payer=p, code=c.iri) for p, c in keys if c],
        "payer-code-index.rq with the question's payer and code bound; nothing else of an answer",
    )
    cold = timed(
        COVERAGE_COLD,
        [lambda q=q: coverage(policy, q) for q in distinct],
        "every question new to the answer cache",
        LOOK_UP,
    )
    rng = random.Random(3)
    repeated = [rng.choice(distinct[:200]) for _ in range(n * 5)]
    warm = timed(
        "coverage, in-process, repeated questions (warm)",
        [lambda q=q: coverage(policy, q) for q in repeated],
        "200 distinct questions asked again",
        COVERAGE_COLD,
    )
    return [look_up, cold, warm]


def bench_pages(n: int) -> list[Timing]:
    """The Ask page with an answer and the Compare page, rendered by the app in this process
    (ASGI, no sockets): targets p95 under 30 ms and 200 ms."""
    from fastapi.testclient import TestClient

    from payerkg.api.app import create_app
    from payerkg.services.coverage import compare
    from payerkg.settings import Settings
    from payerkg.web.question import query_string

    client = TestClient(create_app(Settings(anonymous_role="reader"), policy=load_dataset()))
    client.get("/")  # the form's choices, worked out once per revision

    def get(path: str) -> None:
        assert client.get(path).status_code == 200

    answer = timed(
        "Ask page with its answer, in-process",
        [lambda q=q: get("/?" + query_string(q)) for q in questions(n, seed=11)],
        "distinct questions, each answer new to the cache; HTML rendered",
        COVERAGE_COLD,
    )
    codes = ",".join(
        ["99213", "99214", "99204", "99442", "98005", "98016", "99422", "99457", "90837", "99451"]
    )
    get(f"/compare?date=2023-12-31&codes={codes}")  # the code look-ups, once per revision
    days = [date(2024, 1, 1) + timedelta(days=9 * i) for i in range(max(40, n // 10))]
    policy = load_dataset()
    rule_model(policy)
    matrix = timed(
        MATRIX,
        [lambda d=d: compare(policy, d, codes) for d in days],
        "a new date each time: every cell answered",
    )
    page = timed(
        "Compare page (every payer x 10 codes), in-process",
        [lambda d=d: get(f"/compare?date={d.isoformat()}&codes={codes}") for d in days],
        "a new date each time: every cell answered; HTML rendered",
        MATRIX,
    )
    return [answer, matrix, page]


SPARQL_QUERIES = [
    "SELECT ?payer ?label WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer",
    "ASK { ?payer a pk:Payer }",
    "CONSTRUCT { ?payer a pk:Payer } WHERE { ?payer a pk:Payer }",
    "DESCRIBE payer:medicare",
    "CONSTRUCT WHERE { ?payer a pk:Payer ; rdfs:label ?label } ORDER BY ?payer LIMIT 3 OFFSET 1",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
]
"""The endpoint's tests' queries; the documented example queries are added to them."""


def bench_sparql(n: int) -> list[Timing]:
    """/sparql through the app in this process (ASGI, no sockets; each query in its forked
    worker), the example and test queries in turn: rdflib evaluating (before) and pyoxigraph."""
    from fastapi.testclient import TestClient

    from payerkg.api.app import create_app
    from payerkg.settings import Settings
    from payerkg.sparql_endpoint.query import example_queries

    policy = load_dataset()
    texts = [example.text for example in example_queries()] + SPARQL_QUERIES
    timings = []
    engines: list[tuple[Literal["rdflib", "oxigraph"], str, str | None]] = [
        ("rdflib", SPARQL_RDFLIB, None),
        ("oxigraph", SPARQL_RDFLIB.replace("rdflib (before)", "pyoxigraph (after)"), SPARQL_RDFLIB),
    ]
    for engine, name, yardstick in engines:
        client = TestClient(
            create_app(Settings(anonymous_role="reader", sparql_engine=engine), policy=policy)
        )

        def ask(text: str, client: TestClient = client) -> None:
            assert client.post("/sparql", data={"query": text}).status_code == 200

        for text in texts:  # the revision's graphs (and pyoxigraph's copy) built once, as in service
            ask(text)
        rounds = [texts[i % len(texts)] for i in range(n)]
        calls = [lambda t=t: ask(t) for t in rounds]
        note = f"{len(texts)} queries, each in its forked worker; the shipped graph"
        timings.append(timed(name, calls, note, yardstick))
    return timings


def bench_validation(n: int, baseline_n: int, data_root: Path | None) -> list[Timing]:
    policy = load_dataset(data_root)
    rule_model(policy)  # as the service does at start-up: findings cite rules read there
    compiled_shapes(policy)
    bodies = [json.dumps(e).encode() for e in generate(n)]
    compiled = bench_compiled(policy, bodies)
    shapes = shapes_graph(policy)
    reference = [parse_encounter(b, "application/json").graph for b in bodies[:baseline_n]]
    baseline = timed(
        PYSHACL,
        [lambda g=g: pyshacl.validate(g, shacl_graph=shapes, allow_warnings=True) for g in reference],
        "one pyshacl.validate per encounter, all shapes, graph prepared",
    )
    return [baseline, compiled]


def bench_compiled(policy: PolicyGraph, bodies: list[bytes]) -> Timing:
    """One encounter per call through the compiled engine, JSON parsing included."""
    return timed(
        COMPILED,
        [lambda b=b: validate_encounter(policy, parse_encounter(b, "application/json")) for b in bodies],
        "JSON parsing included",
        PYSHACL,
    )


def bench_batch_in_process(n: int) -> Timing:
    policy = load_dataset()
    compiled_shapes(policy)
    lines = [json.dumps(e).encode() for e in generate(n, seed=9)]
    workers = os.cpu_count() or 1
    started = time.perf_counter()
    for _ in validate_batch(policy, lines, workers=workers):
        pass
    seconds = time.perf_counter() - started
    return Timing(
        f"validation, in-process batch (NDJSON lines, {workers} workers)",
        n,
        seconds,
        [],
        "JSON parsing and result text included",
        PYSHACL,
    )


def bench_batch_cli(n: int) -> Timing:
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
    return Timing("validation, CLI batch (NDJSON), process start-up included", n, seconds, [], "", PYSHACL)


def bench_claims(n: int) -> list[Timing]:
    """837P claims through the batch path (in process, and `payerkg validate --batch` with start-up),
    beside the same encounters as NDJSON through the native batch command."""
    policy = load_dataset()
    compiled_shapes(policy)
    encounters = generate(n, seed=9)
    workers = os.cpu_count() or 1
    interchange = to_837p(encounters).encode()
    started = time.perf_counter()
    for _ in claim_records(policy, read_x12(policy, interchange, len(interchange)), workers=workers):
        pass
    in_process = Timing(
        f"claims, in-process batch (837P, {workers} workers)",
        n,
        time.perf_counter() - started,
        [],
        "X12 reading, envelope checks and result text included",
        PYSHACL,
    )
    timings = [in_process]
    with tempfile.TemporaryDirectory() as folder:
        for name, suffix, text, yardstick in (
            (NDJSON_CLI, ".ndjson", "\n".join(json.dumps(e) for e in encounters) + "\n", None),
            ("claims, CLI batch (837P), process start-up included", ".837", interchange.decode(), NDJSON_CLI),
        ):
            batch = Path(folder) / f"batch{suffix}"
            batch.write_text(text)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "payerkg.cli.main", "validate", "--batch", str(batch)],
                capture_output=True,
                check=False,
                timeout=3600,
            )
            timings.append(Timing(name, n, time.perf_counter() - started, [], "", yardstick))
    return timings


def input_documents(n: int) -> dict[str, tuple[str, list[bytes]]]:
    """The same encounters as plain JSON, Turtle (as rdflib writes the parsed graph), JSON-LD in
    payerkg's own form, and JSON-LD expanded by a standard processor (pyld): per format its media
    type and documents."""
    from pyld import jsonld

    from payerkg.validation.encounter import CONTEXT_URL, context_document

    def loader(url: str, options: object = None) -> dict[str, object]:
        return {"contextUrl": None, "documentUrl": url, "document": context_document()}

    encounters = generate(n, seed=13)
    native = [json.dumps(e).encode() for e in encounters]
    compact = [{"@context": CONTEXT_URL, **e} for e in encounters]
    turtle = [
        parse_encounter(b, "application/json").graph.serialize(format="turtle").encode() for b in native
    ]
    expanded = [json.dumps(jsonld.expand(d, {"documentLoader": loader})).encode() for d in compact]
    return {
        "JSON": ("application/json", native),
        "Turtle": ("text/turtle", turtle),
        "JSON-LD (payerkg form)": ("application/ld+json", [json.dumps(d).encode() for d in compact]),
        "JSON-LD (expanded)": ("application/ld+json", expanded),
    }


def bench_inputs(n: int) -> list[Timing]:
    """Each input format one per call (parse, then judge) and as a batch (every document parsed,
    then every one judged, in this process), each row beside native JSON in the same run."""
    policy = load_dataset()
    rule_model(policy)
    compiled_shapes(policy)
    documents = input_documents(n)
    for media, bodies in documents.values():  # warm the caches (literals, shapes' memo) first
        for body in bodies[:200]:
            validate_encounter(policy, parse_encounter(body, media))
    per_call: dict[str, Timing] = {}
    for label, (media, bodies) in documents.items():
        gc.collect()  # each row starts with nothing left to collect: a full collection costs ~0.5 s
        per_call[label] = timed(
            f"input {label}, in-process, one per call",
            [lambda b=b, m=media: validate_encounter(policy, parse_encounter(b, m)) for b in bodies],
            "parsing included",
            None if label == "JSON" else JSON_CALL,
        )
    batch: dict[str, Timing] = {}
    for label, (media, bodies) in documents.items():
        gc.collect()
        started = time.perf_counter()
        parsed = [parse_encounter(body, media) for body in bodies]
        for encounter in parsed:
            validate_encounter(policy, encounter)
        name = f"input {label}, in-process batch (all parsed, then all judged)"
        yardstick = None if label == "JSON" else JSON_BATCH
        batch[label] = Timing(name, n, time.perf_counter() - started, [], "parsing included", yardstick)
    return [*per_call.values(), *batch.values()]


def bench_fhir_http(base: str, n: int) -> list[Timing]:
    """FHIR Bundles over HTTP, one per call, beside the same encounters as native JSON."""
    encounters = generate(n, seed=5)
    with httpx.Client(base_url=base, timeout=60) as client:

        def post(body: bytes, media: str) -> None:
            client.post("/validate", content=body, headers={"content-type": media}).raise_for_status()

        def refused(body: bytes) -> None:
            assert client.post("/validate", content=body, headers={"content-type": FHIR}).status_code == 422

        native = [json.dumps(e).encode() for e in encounters]
        bundles = [json.dumps(to_fhir_bundle(e)).encode() for e in encounters]
        hostile = [json.dumps(repeated_modifiers(to_fhir_bundle(e))).encode() for e in encounters[:20]]
        return [
            timed(JSON_HTTP, [lambda b=b: post(b, "application/json") for b in native]),
            timed(
                "FHIR Bundles, HTTP, one per call",
                [lambda b=b: post(b, "application/fhir+json") for b in bundles],
                "the same encounters as Claim, Patient and PractitionerRole",
                JSON_HTTP,
            ),
            timed(
                "FHIR Bundles with 2,500 repeated modifiers, HTTP, refused",
                [lambda b=b: refused(b) for b in hostile],
                "a hostile payload: issue 20's budget is 2 s each",
                JSON_HTTP,
            ),
        ]


def repeated_modifiers(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle with its claim's first item carrying one modifier 2,500 times (422 invalid_claim)."""
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Claim":
            item = entry["resource"]["item"][0]
            item["modifier"] = [{"coding": [{"system": CPT, "code": "95"}]}] * 2500  # any code, repeated
    return bundle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service() -> Iterator[str]:
    """`payerkg serve` on a free loopback port, open to anonymous callers as `make serve` is,
    stopped afterwards."""
    with served(workers=1) as (base, _):
        yield base


@contextmanager
def served(workers: int, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`payerkg serve --workers N` on a free loopback port (read-only when N > 1), open to anonymous
    callers, with ``env`` added to its environment: its address and process id, stopped afterwards."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "payerkg.cli.main", "serve", "--port", str(port), "--workers", str(workers)],
        # The open-loop load comes from one address: lift the per-caller caps (api/limits.py),
        # which would otherwise answer part of it 429 and measure nothing.
        env={
            **os.environ,
            "PAYERKG_ANONYMOUS_ROLE": "integrator",
            "PAYERKG_MAX_CONCURRENT_ANONYMOUS": "100000",
            "PAYERKG_ANONYMOUS_MAX_BATCH_BYTES": str(64 * 1024 * 1024),
            "PAYERKG_EDITING": "false" if workers > 1 else "true",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _fixed_rate(base: str, requests: list[tuple[str, dict[str, str]]], rate: float) -> Timing:
    """Send requests at a fixed rate (open loop), whatever the answers' speed; count errors."""
    latencies: list[float] = []
    errors = 0
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends them: at equal timeouts
    # (httpx's default is 5 s too) a request sent as the server closed its connection was lost
    # (httpx.ReadError), once in a full run.
    limits = httpx.Limits(keepalive_expiry=1)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one(path: str, params: dict[str, str]) -> None:
            nonlocal errors
            t = time.perf_counter()
            try:
                response = await client.get(path, params=params)
            except httpx.TransportError:
                errors += 1  # counted, as a refusal is: one lost request does not end the run
                return
            latencies.append((time.perf_counter() - t) * 1000)
            errors += not response.is_success  # a refused request measures nothing

        started = time.perf_counter()
        tasks = []
        for i, (path, params) in enumerate(requests):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path, params)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    return Timing(
        f"coverage, HTTP at {rate:.0f} requests/s (open loop)",
        len(requests),
        seconds,
        latencies,
        f"{errors} not 2xx or lost; open loop: the rate is the one sent, the latencies are the figure",
    )


def bench_http(base: str, rate: float, seconds: float, encounters: int) -> list[Timing]:
    requests = []
    for q in questions(int(rate * seconds), seed=11):
        requests.append(("/coverage", dict(query_pairs(q))))
    coverage_http = asyncio.run(_fixed_rate(base, requests, rate))
    bodies = [json.dumps(e).encode() for e in generate(encounters, seed=5)]
    with httpx.Client(base_url=base, timeout=60) as client:

        def post(body: bytes) -> None:
            client.post(
                "/validate", content=body, headers={"content-type": "application/json"}
            ).raise_for_status()

        validation_http = timed(
            "validation, HTTP, one per call",
            [lambda b=b: post(b) for b in bodies],
            "one request at a time from one httpx client: its round trip, not the service's capacity "
            "(that is `make bench-http`)",
            COMPILED,
        )
    return [coverage_http, validation_http]


def bench_startup() -> tuple[float, float, int]:
    started = time.perf_counter()
    policy = load_dataset()
    compiled_shapes(policy)
    rule_model(policy)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return seconds, rss_mb, len(policy.dataset)


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


def other_load() -> tuple[float, float, float] | None:
    """Wall clock, CPU time of the whole machine (Linux /proc/stat) and CPU time of this run."""
    try:
        jiffies = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    except OSError:
        return None
    busy = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    return time.monotonic(), busy, own


def other_load_text(before: tuple[float, float, float] | None) -> str:
    """How much CPU other processes took during the run: figures on a busy machine are lower."""
    after = other_load()
    if before is None or after is None:
        return ""
    wall, busy, own = (b - a for a, b in zip(before, after, strict=True))
    return f"Other processes used {max(busy - own, 0):.1f} CPU-seconds during the {wall:.0f} s run."


def scenario_run(args: argparse.Namespace, chosen: set[str]) -> list[Timing]:
    """One run of the chosen scenarios, in the table's order."""
    run: list[Timing] = []
    if "coverage" in chosen:
        run += bench_coverage(args.answers)
    if "validation" in chosen:
        run += bench_validation(args.encounters, args.baseline, args.data_root)
    if "batch" in chosen:
        run += [bench_batch_in_process(args.encounters * 4), bench_batch_cli(args.encounters * 2)]
    if "pages" in chosen:
        run += bench_pages(args.answers // 10)
    if "sparql" in chosen:
        run += bench_sparql(args.answers // 25)
    if "http" in chosen:
        with running_service() as base:
            run += bench_http(base, args.rate, args.seconds, args.encounters // 4)
    if "inputs" in chosen:
        run += bench_inputs(args.encounters)
    if "formats" in chosen:
        run += bench_claims(args.encounters * 2)
        with running_service() as base:
            run += bench_fhir_http(base, args.encounters // 4)
    return run


def scenario_rows(args: argparse.Namespace, chosen: set[str]) -> list[str]:
    """The table rows of the chosen scenarios over ``args.repeats`` runs, one after another."""
    return table_rows([scenario_run(args, chosen) for _ in range(args.repeats)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=5000)
    parser.add_argument("--encounters", type=int, default=2000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="runs of every scenario, for the spread")
    parser.add_argument(
        "--data-root",
        type=Path,
        help="validation rows: judge the shapes of the graph files under this folder",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--only", nargs="+", choices=SCENARIOS, help="run these scenarios, print their rows, write nothing"
    )
    args = parser.parse_args()
    before = other_load()
    if args.only:
        print("\n".join(scenario_rows(args, set(args.only) - {"oneshot"})))
        if "oneshot" in args.only:  # a table of its own: each command against the import floor
            print("\n".join(oneshot_table(measure_oneshot(ONESHOT_RUNS, None))))
        print(other_load_text(before))
        return

    load_seconds, rss_mb, triples = bench_startup()  # first: its peak memory is start-up's alone
    rows = scenario_rows(args, set(SCENARIOS) - {"oneshot"})
    oneshot_before = other_load()
    oneshot = oneshot_table(measure_oneshot(ONESHOT_RUNS, None))
    oneshot_load = other_load_text(oneshot_before)
    load_text = other_load_text(before)
    command = (
        f".venv/bin/python -m benchmarks --answers {args.answers} --encounters {args.encounters} "
        f"--baseline {args.baseline} --rate {args.rate:.0f} --seconds {args.seconds:.0f} "
        f"--repeats {args.repeats}"
    )
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()};",
        f"payerkg {__version__}, rdflib {rdflib.__version__}, pyshacl {pyshacl.__version__}.",
        "",
        f"Reproduce: `make bench` (runs `{command}`).",
        "Only the validation rows: `.venv/bin/python -m benchmarks --only validation batch` (prints them);",
        "the input formats (JSON, Turtle, JSON-LD): `.venv/bin/python -m benchmarks --only inputs`.",
        "",
        "- Coverage questions: a seeded draw over Medicare codes, dates 2024-2028, modalities,",
        "  patient locations and statuses. Answers are SPARQL-backed: a (payer, code) index of rule",
        "  versions comes from `rule-version-index.rq`, read once per graph revision; repeated questions are",
        "  served from a bounded per-revision answer cache (a new revision starts empty).",
        "- Encounters: `benchmarks/encounters.py` (seeded, about 20% violating). The compiled engine and",
        "  the plain pyshacl baseline judge the same shapes (structural plus derived from rules); a",
        "  differential test (`tests/conformance/test_engine_agreement.py`) requires identical results.",
        "- HTTP runs on loopback against `payerkg serve` (one uvicorn worker).",
        "",
        f"Start-up (load the default graph of {triples:,} triples, compile its shapes, build the "
        "coverage index and read rule statements): "
        f"{load_seconds:.2f} s; peak resident memory {rss_mb:,.0f} MB. {load_text}",
        "",
        f"Every scenario ran {args.repeats} times, one run after another. Each row leads with its",
        "ratio to its yardstick, measured in the same run (pyshacl for validation, one SPARQL look-up of",
        "the question's rule versions for a coverage answer, the in-process rate for HTTP and pages,",
        "rdflib for /sparql, native JSON for the other input formats; none for the open-loop row, whose",
        "rate is the one sent): the median of the runs' ratios and their spread. Rates are beside",
        "them; they move with the machine (the same command on another",
        "machine of this kind gave half these rates), the ratios less. Latencies are from the run of",
        "the median rate.",
        "",
        "| vs yardstick (spread) | scenario | count | per second, median (spread) | p50 ms | p95 ms "
        "| p99 ms | note |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "## One-shot commands",
        "",
        'Each command a new process, as a user runs it, against `python -c "import rdflib, pyoxigraph"`',
        f"in the same run, in turns; median of {ONESHOT_RUNS} (`benchmarks/oneshot.py`; only these rows:",
        "`.venv/bin/python -m benchmarks --only oneshot`). Cold: an empty cache folder (parse, build, save",
        f"the start-up snapshot); warm: the snapshot of this revision is read. {oneshot_load}",
        "",
        *oneshot,
        "",
        "Growth with the policy graph (synthetic payers x codes x versions up to 10^7 statements) on the",
        "in-memory, embedded Oxigraph and remote stores: `docs/benchmarks-scale.md` (`make bench-scale`).",
        "",
    ]
    kept = args.output.read_text() if args.output.exists() else ""
    if BEFORE_AND_AFTER in kept:  # the recorded comparisons stay
        lines += ["", kept[kept.index(BEFORE_AND_AFTER) :].strip(), ""]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
