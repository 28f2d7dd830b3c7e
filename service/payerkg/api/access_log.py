"""What the service logs: one line per request with its route template, status, duration, role and
a request id, and for a failure the exception's type and where it was raised. Never a query
string, a path value, a body or an exception message: those may carry patient data (docs/security.md).
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payerkg.jsondoc import JSONObject

ACCESS = logging.getLogger("payerkg.access")
ERRORS = logging.getLogger("payerkg.errors")
ROLE_KEY = "payerkg_role"
"""Where the auth dependency leaves the caller's role, in the request's state."""

UNMATCHED = "-"
"""The route logged for a request that matched none: its raw path may carry submitted values."""

LOG_CONFIG: JSONObject = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "loggers": {
        "payerkg": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # uvicorn's access log keeps full query strings: it is replaced by payerkg.access.
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
"""The logging set-up of ``payerkg serve`` (with ``access_log=False`` for uvicorn)."""


class AccessLog:
    """ASGI middleware: logs each request (see the module docstring), answers an unhandled
    exception with a bare 500 problem and logs the exception without its message, and sends the
    request id back as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state: JSONObject = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:  # logged without its message, and answered: never re-raised
            status = 500
            ERRORS.error(
                "request %s on %s failed: %s\n%s",
                request_id,
                _route(scope),
                type(error).__name__,
                _frames(error),
            )
            if not response_started:
                await _internal_error(send_with_id)
        finally:
            ACCESS.info(
                "%s %s %s %.1fms role=%s id=%s",
                scope.get("method", "-"),
                _route(scope),
                status,
                (time.perf_counter() - started) * 1000,
                state.get(ROLE_KEY, "-"),
                request_id,
            )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _frames(error: BaseException) -> str:
    """Where the exception was raised: file, line and function per frame, no values."""
    return "".join(
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
        for frame in traceback.extract_tb(error.__traceback__)
    )


async def _internal_error(send: Send) -> None:
    body = (
        b'{"type":"https://w3id.org/payerkg/problems/internal_error","title":"internal error",'
        b'"status":500,"code":"internal_error","detail":"the service failed; the request id names '
        b'the logged failure"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
