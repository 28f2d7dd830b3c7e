"""Cold coverage answers on a kept store of 10^7 statements without and with the local version
index, in turns, each run a new process (docs/benchmarks-scale.md, "with the local version
index").

    python -m benchmarks.scale_index --store DIR [--remote] [--pairs 3] [--answers 1000]

DIR is an embedded store as `benchmarks.scale_serve --build` writes it. The index is built once
first, in a folder of its own; then each pair runs the questions of `benchmarks.scale` (half
Medicare, half synthetic payers) without the index and with it, from a rule model read per
(payer, code). With --remote the store is served by an `oxigraph serve` process (one for all
runs) and read over SPARQL. It prints a row per run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.oxigraph_server import oxigraph_server

from benchmarks.__main__ import questions
from benchmarks.scale import synthetic_questions
from benchmarks.synthetic import Shape
from payerkg.coverage.answer import coverage
from payerkg.editing import revisions
from payerkg.services.local_index import LocalIndex
from payerkg.stores import Store
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.stores.remote import RemoteStore

TRIPLES = 10_000_000
SOURCE = "benchmark"


def answer_all(store: Store, folder: Path | None, answers: int) -> str:
    """The questions answered once (in a child process); with ``folder``, from the index there."""
    policy = revisions.policy_at_head(store)
    if folder is not None:
        assert LocalIndex(store, folder, SOURCE).attach(policy), "the index was built from this store"
    asked = questions(answers // 2, seed=7) + synthetic_questions(
        Shape.of_size(TRIPLES).payers, answers // 2, seed=5
    )
    began, cpu = time.perf_counter(), time.process_time()
    for question in asked:
        coverage(policy, question)
    rate = len(asked) / (time.perf_counter() - began)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(asked)
    side = "with the index" if folder is not None else "without"
    return f"| {side} | {len(asked):,} | {rate:,.0f} | {cpu_ms:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--remote", action="store_true", help="read the store through an Oxigraph server")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument(
        "--child", nargs=3, metavar=("QUERY_URL", "UPDATE_URL", "INDEX_FOLDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        query_url, update_url, folder = args.child
        store: Store = OxigraphStore(args.store) if query_url == "-" else RemoteStore(query_url, update_url)
        print(answer_all(store, Path(folder) if folder != "-" else None, args.answers))
        return
    folder = Path(tempfile.mkdtemp(prefix="payerkg-index-"))
    built = OxigraphStore(args.store)
    seconds = LocalIndex(built, folder, SOURCE).build(revisions.policy_at_head(built))
    built.close()
    print(f"version index built in {seconds:.1f} s")
    print("| answers read | answers | answers / s | CPU ms / answer (this process) |")
    print("|---|---|---|---|")

    def run(*urls: str) -> None:
        for _ in range(args.pairs):
            for with_index in ("-", str(folder)):
                command = [sys.executable, "-m", "benchmarks.scale_index", "--store", str(args.store)]
                command += ["--answers", str(args.answers), "--child", *urls, with_index]
                print(
                    subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip(),
                    flush=True,
                )

    if args.remote:
        with oxigraph_server(args.store) as server:
            run(server.query_url, server.update_url)
    else:
        run("-", "-")


if __name__ == "__main__":
    main()
