"""Limits per caller, so that no caller can take the service from the others.

- **Requests in flight**: a caller may have ``max_concurrent_per_caller`` requests running at once
  (callers without a key: ``max_concurrent_anonymous``, counted per client address); one more is
  answered ``429 too_many_requests`` with ``Retry-After`` before anything is read.
- **Batch size**: callers without a key may send batches of ``anonymous_max_batch_bytes`` only.
- **SPARQL workers**: a caller may hold ``sparql_max_per_caller`` of the ``sparql_max_concurrent``
  query workers (past that: ``429``, ``Retry-After`` = when its first query must end); when every
  worker is taken, a query waits at most ``sparql_queue_wait_s`` and is then answered
  ``503 busy`` with ``Retry-After`` = when the first running query must end. A runaway query is
  stopped at its deadline, so that is when a worker frees at the latest.

A caller is the holder of a known API key, or else the client address (an unknown key counts
as no key). Settings: ``payerkg.settings``; docs/security.md lists them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from payerkg.api.access_log import ROLE_KEY
from payerkg.api.auth import key_ring, presented_key
from payerkg.api.problems import problem
from payerkg.errors import QueryBusy, TooManyRequests
from payerkg.settings import Settings

UNLIMITED_PATHS = ("/health",)
"""Liveness checks are never refused: a load balancer asks them from one address."""
RETRY_AFTER_BUSY_S = 1
"""Retry-After of a request over its caller's cap: requests end at unknown times; ask again soon."""


def caller_of(scope: Scope) -> tuple[str, bool]:
    """Who a request counts against, and whether it carries a known key."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    key = presented_key(headers.get("authorization", ""), headers.get("x-api-key", ""))
    if key:
        found = key_ring(scope["app"].state).lookup(key)
        if found is not None:
            return f"key:{found[1]}", True
    client = scope.get("client")
    return f"address:{client[0] if client else '-'}", False


def is_keyed(request: Request) -> bool:
    """Whether the request carries a known key (the auth dependency has already checked it)."""
    return caller_of(request.scope)[1]


def batch_cap(request: Request, settings: Settings) -> int:
    """The most bytes this caller's batch may hold."""
    if is_keyed(request):
        return settings.max_batch_bytes
    return min(settings.max_batch_bytes, settings.anonymous_max_batch_bytes)


class CallerLimits:
    """ASGI middleware: at most so many requests in flight per caller; one more is a 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.running: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        caller, keyed = caller_of(scope)
        cap = settings.max_concurrent_per_caller if keyed else settings.max_concurrent_anonymous
        if self.running[caller] >= cap:
            scope.setdefault("state", {})[ROLE_KEY] = "over-limit"
            response = problem(
                429,
                TooManyRequests.code,
                f"this caller already has {cap} requests running; retry when one has ended",
            )
            response.headers["retry-after"] = str(RETRY_AFTER_BUSY_S)
            await response(scope, receive, send)
            return
        self.running[caller] += 1  # the loop runs one coroutine at a time: no race here
        try:
            await self.app(scope, receive, send)
        finally:
            self.running[caller] -= 1
            if not self.running[caller]:
                del self.running[caller]


class QueryWorkers:
    """The SPARQL query workers of one app, shared fairly: a per-caller share, and no long queue."""

    def __init__(self, total: int, per_caller: int) -> None:
        self.total = max(1, total)
        self.per_caller = max(1, min(per_caller, self.total))
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[str, float]] = {}
        self._next = 0

    @property
    def in_use(self) -> int:
        """How many workers are held now."""
        with self._lock:
            return len(self._deadlines)

    @asynccontextmanager
    async def slot(self, caller: str, deadline: float, wait_s: float) -> AsyncIterator[None]:
        """Hold a worker while the block runs; raise TooManyRequests or QueryBusy at once or after
        ``wait_s`` (never past ``deadline``) when none can be had."""
        ticket = self._take(caller, deadline)
        give_up = min(deadline, time.monotonic() + wait_s)
        while ticket is None:
            if time.monotonic() >= give_up:
                raise QueryBusy(
                    f"all {self.total} query workers are busy; retry later", self._retry_after(None)
                )
            await anyio.sleep(0.02)
            ticket = self._take(caller, deadline)
        try:
            yield
        finally:
            with self._lock:
                del self._deadlines[ticket]

    def _take(self, caller: str, deadline: float) -> int | None:
        with self._lock:
            mine = sum(1 for who, _ in self._deadlines.values() if who == caller)
            if mine >= self.per_caller:
                raise TooManyRequests(
                    f"this caller already has {mine} queries running; retry when one has ended",
                    self._retry_after(caller),
                )
            if len(self._deadlines) >= self.total:
                return None
            self._next += 1
            self._deadlines[self._next] = (caller, deadline)
            return self._next

    def _retry_after(self, caller: str | None) -> int:
        """Whole seconds until the first of the (caller's) running queries must have ended."""
        ends = [end for who, end in self._deadlines.values() if caller is None or who == caller]
        return max(1, math.ceil(min(ends, default=time.monotonic() + 1) - time.monotonic()))


def query_workers(request: Request, settings: Settings) -> QueryWorkers:
    """The app's query workers, made on first use (route code runs on the loop: no race)."""
    workers: QueryWorkers | None = getattr(request.app.state, "query_workers", None)
    if workers is None:
        workers = QueryWorkers(settings.sparql_max_concurrent, settings.sparql_max_per_caller)
        request.app.state.query_workers = workers
    return workers
