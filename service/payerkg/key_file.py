"""API keys in a key file that the service watches: added and revoked without a restart.

The file (``PAYERKG_KEY_FILE``) holds each key's SHA-256 digest, role, holder's name and when it
was made; never a key. ``payerkg key new|list|revoke`` write it atomically (a new file renamed
over the old one, under a lock), and the service looks at the file's identity on every request,
re-reading it when it changed: a revoked key stops working with the next request.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from payerkg.access import ROLES, key_digest
from payerkg.errors import InvalidParameter, StoreError


@dataclass(frozen=True)
class KeyEntry:
    """One key as the file holds it: never the key itself."""

    digest: str
    role: str
    name: str
    created: str


def read_keys(path: Path) -> list[KeyEntry]:
    """The keys in the file; none when it does not exist. Raises StoreError when it is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot read the key file {path} ({error.__class__.__name__})") from None
    try:
        data = json.loads(text)
        return [
            KeyEntry(str(e["digest"]), str(e["role"]), str(e["name"]), str(e["created"]))
            for e in data["keys"]
        ]
    except (ValueError, KeyError, TypeError):
        raise StoreError(f"the key file {path} is not a payerkg key file") from None


def add_key(path: Path, role: str, name: str, now: datetime) -> str:
    """Make a key for ``name`` with ``role``, record its digest in the file and return the key."""
    if role not in ROLES:
        raise InvalidParameter("the role must be reader, integrator, editor or admin", "role")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(name) > 64:
        raise InvalidParameter("the name must be letters, digits, dots, hyphens and underscores", "name")
    key = secrets.token_urlsafe(32)
    with _locked(path):
        entries = read_keys(path)
        if any(entry.name == name for entry in entries):
            raise InvalidParameter("a key with this name exists; revoke it first or choose another", "name")
        entries.append(KeyEntry(key_digest(key), role, name, now.isoformat(timespec="seconds")))
        _write(path, entries)
    return key


def revoke_key(path: Path, name: str) -> KeyEntry:
    """Remove the key held by ``name`` from the file; the service refuses it from the next request."""
    with _locked(path):
        entries = read_keys(path)
        revoked = next((entry for entry in entries if entry.name == name), None)
        if revoked is None:
            raise InvalidParameter("no key with this name in the key file", "name")
        _write(path, [entry for entry in entries if entry is not revoked])
    return revoked


class KeyRing:
    """The keys a service admits: those in its settings and those in the key file, the file
    re-read whenever its identity (inode, size, modification time) changes. An unreadable file
    admits no file key until it is fixed (fail closed)."""

    def __init__(self, configured: Mapping[str, str], path: Path | None) -> None:
        self._configured = {digest.lower(): entry for digest, entry in configured.items()}
        self._path = path
        self._seen: tuple[int, int, int] | None = None
        self._from_file: dict[str, str] = {}
        self._lock = threading.Lock()

    def lookup(self, key: str) -> tuple[str, str] | None:
        """The (role, name) of a key, or None when no configured or filed key matches."""
        digest = key_digest(key)
        for known, entry in {**self._configured, **self._file_entries()}.items():
            if hmac.compare_digest(known, digest):
                role, _, name = entry.partition(":")
                if role in ROLES:
                    return role, name or role
        return None

    def _file_entries(self) -> dict[str, str]:
        if self._path is None:
            return {}
        try:
            status = os.stat(self._path)
            seen = (status.st_ino, status.st_size, status.st_mtime_ns)
        except FileNotFoundError:
            seen = (0, 0, 0)
        with self._lock:
            if seen != self._seen:
                try:
                    entries = read_keys(self._path)
                except StoreError:
                    entries = []
                self._from_file = {e.digest.lower(): f"{e.role}:{e.name}" for e in entries}
                self._seen = seen
            return self._from_file


def _write(path: Path, entries: list[KeyEntry]) -> None:
    """Replace the file at once: readers see the old file or the new one, never half of one."""
    body = json.dumps({"keys": [asdict(entry) for entry in entries]}, indent=2) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=".keys-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (two ``payerkg key`` commands at once)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115
    except OSError as error:
        raise StoreError(f"cannot write beside the key file {path} ({error.__class__.__name__})") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
