"""Roles and API keys: who may do what, independent of how a request arrives."""

from __future__ import annotations

import hashlib

ROLES = ("reader", "integrator", "editor", "admin")
"""Ordered: each role may do what the ones before it may."""


def key_digest(key: str) -> str:
    """What the settings store of a key: its SHA-256 digest, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def reaches(roles: tuple[str, ...], minimum: str) -> bool:
    """Whether the highest of ``roles`` (unknown names count for nothing) is ``minimum`` or above."""
    ranks = [ROLES.index(role) for role in roles if role in ROLES]
    return bool(ranks) and max(ranks) >= ROLES.index(minimum)
