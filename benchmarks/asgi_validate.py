"""POST /validate through the ASGI app in this process, no network: the app's CPU per request
(routing, middleware, dependencies, parsing, judging, writing the verdict), apart from uvicorn's
HTTP parsing and the socket. Compare two checkouts by running it with each on PYTHONPATH, in turns.

    python -m benchmarks.asgi_validate [--requests N] [--rounds R]

Prints the minimum and median over the rounds; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from benchmarks.encounters import generate

Message = dict[str, Any]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    # Anonymous callers with the integrator role and no per-caller cap, as `make bench-http` serves.
    os.environ.setdefault("PAYERKG_ANONYMOUS_ROLE", "integrator")
    os.environ.setdefault("PAYERKG_MAX_CONCURRENT_ANONYMOUS", "100000")
    from payerkg.api.app import create_app

    access = logging.getLogger("payerkg.access")  # the access log formatted, then dropped
    access.setLevel(logging.INFO)
    access.addHandler(logging.NullHandler())
    access.propagate = False
    app = create_app()
    bodies = [json.dumps(encounter).encode() for encounter in generate(2000, seed=7)]
    per_request = uvloop.run(_rounds(app, bodies, args.requests, args.rounds))
    print(
        f"POST /validate through the ASGI app: {min(per_request):.3f} ms CPU per request minimum, "
        f"{statistics.median(per_request):.3f} median, {args.rounds} rounds of {args.requests}"
    )


async def _rounds(
    app: Callable[..., Awaitable[None]], bodies: list[bytes], requests: int, rounds: int
) -> list[float]:
    for body in bodies[:300]:  # the shapes these encounters reach, compiled before timing
        await _post(app, body)
    per_request = []
    for _ in range(rounds):
        started = time.process_time()
        for number in range(requests):
            await _post(app, bodies[number % len(bodies)])
        per_request.append((time.process_time() - started) / requests * 1000)
    return per_request


async def _post(app: Callable[..., Awaitable[None]], body: bytes) -> None:
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/validate",
        "raw_path": b"/validate",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    received = False

    async def receive() -> Message:
        nonlocal received
        if received:  # a client that stays connected and sends nothing more
            await asyncio.sleep(3600)
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise SystemExit(f"POST /validate answered {statuses}")


if __name__ == "__main__":
    main()
