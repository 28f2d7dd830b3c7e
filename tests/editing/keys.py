"""API keys for the editing tests: one per role, with the settings entries that admit them."""

from __future__ import annotations

from payerkg.access import ROLES, key_digest

KEYS = {role: f"test-key-for-{role}" for role in ROLES}
API_KEYS = {key_digest(key): f"{role}:{role}-tester" for role, key in KEYS.items()}


def auth(role: str) -> dict[str, str]:
    """Request headers of a caller with ``role`` (no header for anonymous)."""
    return {"authorization": f"Bearer {KEYS[role]}"} if role in KEYS else {}
