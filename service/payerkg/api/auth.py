"""Who is calling, and whether their role may use a route.

Keys arrive as ``Authorization: Bearer <key>`` (or ``X-API-Key``) and are compared by their
SHA-256 digest with the configured ones; keys themselves are never stored. Roles are ordered:
each includes the ones before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from payerkg.access import ROLES, reaches
from payerkg.api.access_log import ROLE_KEY
from payerkg.errors import Forbidden, NotAuthenticated
from payerkg.key_file import KeyRing
from payerkg.settings import Settings


@dataclass(frozen=True)
class Caller:
    name: str
    role: str  # one of ROLES, or "anonymous"


def identify(request: Request) -> Caller:
    """The caller of a request: a configured key's role and name, or anonymous. The role is
    left in the request's state for the access log."""
    caller = _identify(request)
    setattr(request.state, ROLE_KEY, caller.role)
    return caller


def _identify(request: Request) -> Caller:
    key = presented_key(request.headers.get("authorization", ""), request.headers.get("x-api-key", ""))
    if not key:
        return Caller("anonymous", "anonymous")
    found = key_ring(request.app.state).lookup(key)
    if found is not None:
        role, name = found
        return Caller(name, role)
    setattr(request.state, ROLE_KEY, "invalid-key")
    raise NotAuthenticated("the API key is not valid")


def presented_key(authorization: str, x_api_key: str) -> str:
    """The key a request carries: ``Authorization: Bearer <key>``, else ``X-API-Key``."""
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return x_api_key.strip()


def key_ring(state: object) -> KeyRing:
    """The app's keys (settings and the watched key file), made on first use."""
    ring: KeyRing | None = getattr(state, "key_ring", None)
    if ring is None:
        settings: Settings = getattr(state, "settings")  # noqa: B009
        ring = KeyRing(settings.api_keys, settings.key_file)
        setattr(state, "key_ring", ring)  # noqa: B010
    return ring


def allows(settings: Settings, caller: Caller, minimum: str) -> bool:
    """Whether the caller's role, or what anonymous callers may do, reaches ``minimum``."""
    return reaches((caller.role, settings.anonymous_role), minimum)


def require(minimum: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency admitting callers whose role is ``minimum`` or above. Async, though it never
    waits: FastAPI runs a plain function dependency in a worker thread, a hop per request."""
    assert minimum in ROLES

    async def check(request: Request) -> Caller:
        caller = identify(request)
        if not allows(request.app.state.settings, caller, minimum):
            if caller.role == "anonymous":
                raise NotAuthenticated(f"this route needs an API key with the {minimum} role or above")
            raise Forbidden(f"this route needs the {minimum} role or above")
        return caller

    return check


READER = [Depends(require("reader"))]
INTEGRATOR = [Depends(require("integrator"))]
Reader = Annotated[Caller, Depends(require("reader"))]
Integrator = Annotated[Caller, Depends(require("integrator"))]
Editor = Annotated[Caller, Depends(require("editor"))]
Admin = Annotated[Caller, Depends(require("admin"))]
