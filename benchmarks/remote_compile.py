"""Shape derivation and compilation of the shipped graph on a remote store (an Oxigraph server):
the time it takes and the SPARQL requests it sends, each run in a new process.

    python -m benchmarks.remote_compile [--runs N] [--before FOLDER]

One server is seeded once with the shipped files. Each run is a child process that opens the
newest revision and builds its rule model (untimed, as a service's start-up does before it
compiles), then times ``compiled_shapes`` (wall and CPU seconds) and counts the requests it sends.
``--before`` names a folder holding another checkout's ``service/`` (e.g. from `git archive`),
whose runs alternate with this checkout's so that a shared machine's load weighs on both alike.
Prints the table rows; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.oxigraph_server import oxigraph_server

ROOT = Path(__file__).resolve().parents[1]


def child(query_url: str, update_url: str) -> None:
    """One run: print the compilation's wall and CPU seconds and the requests it sent (JSON)."""
    from payerkg.editing import revisions
    from payerkg.graph.rules import rule_model
    from payerkg.stores.remote import RemoteStore
    from payerkg.validation.validate import compiled_shapes

    store = RemoteStore(query_url, update_url)
    policy = revisions.policy_at_head(store)
    rule_model(policy)
    requests: list[httpx.Request] = []
    store._client.event_hooks["request"].append(requests.append)
    began, cpu = time.perf_counter(), time.process_time()
    compiled_shapes(policy)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "requests": len(requests)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a folder with another checkout's service/")
    parser.add_argument("--child", nargs=2, metavar=("QUERY_URL", "UPDATE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from payerkg.editing import revisions
    from payerkg.stores.remote import RemoteStore

    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYERKG_")}
    checkouts = {"this checkout": base | {"PYTHONPATH": str(ROOT)}}
    if args.before is not None:
        checkouts["before"] = base | {"PYTHONPATH": f"{args.before.resolve() / 'service'}{os.pathsep}{ROOT}"}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    with (
        tempfile.TemporaryDirectory(prefix="payerkg-remote-compile-") as tmp,
        oxigraph_server(Path(tmp) / "server") as server,
    ):
        revisions.seed(RemoteStore(server.query_url, server.update_url))
        for _ in range(args.runs):
            for name, env in checkouts.items():
                command = [sys.executable, "-m", "benchmarks.remote_compile", "--child"]
                done = subprocess.run(
                    [*command, server.query_url, server.update_url],
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| code | compile wall s, median (min-max) | CPU s, median | requests |")
    print("|---|---|---|---|")
    for name, measured in runs.items():
        walls = [run["wall"] for run in measured]
        cpus = [run["cpu"] for run in measured]
        print(
            f"| {name} | {statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
            f"{statistics.median(cpus):.2f} | {measured[0]['requests']:.0f} |"
        )


if __name__ == "__main__":
    main()
