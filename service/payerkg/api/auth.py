"""Who is calling, and whether their role may use a route.

Keys arrive as ``Authorization: Bearer <key>`` (or ``X-API-Key``) and are compared by their
SHA-256 digest with the configured ones; keys themselves are never stored. Roles are ordered:
each includes the ones before it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from payerkg.access import ROLES, key_digest, reaches
from payerkg.api.access_log import ROLE_KEY
from payerkg.errors import Forbidden, NotAuthenticated
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
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
    if not key:
        return Caller("anonymous", "anonymous")
    digest = key_digest(key)
    for known, entry in settings.api_keys.items():
        if hmac.compare_digest(known.lower(), digest):
            role, _, name = entry.partition(":")
            if role in ROLES:
                return Caller(name or role, role)
    setattr(request.state, ROLE_KEY, "invalid-key")
    raise NotAuthenticated("the API key is not valid")


def allows(settings: Settings, caller: Caller, minimum: str) -> bool:
    """Whether the caller's role, or what anonymous callers may do, reaches ``minimum``."""
    return reaches((caller.role, settings.anonymous_role), minimum)


def require(minimum: str) -> Callable[[Request], Caller]:
    """A dependency admitting callers whose role is ``minimum`` or above."""
    assert minimum in ROLES

    def check(request: Request) -> Caller:
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
