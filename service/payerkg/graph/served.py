"""The graph a service answers from: the newest revision of its store, kept warm.

Several replicas may share one store. Each checks the store's head revision at most every
``check_every_s`` seconds and, when another replica committed, loads the new revision before
answering; its own commits take effect at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

from payerkg.editing import revisions
from payerkg.errors import InvalidParameter, UnknownRevision
from payerkg.graph.dataset import PolicyGraph
from payerkg.stores import Store

REVISION_SPEC = re.compile(r"^(?:[1-9][0-9]{0,8}|[0-9]{4}-[0-9]{2}-[0-9]{2})$")
"""A revision number, or a date (YYYY-MM-DD) that picks the revision in force at its end."""
PAST_REVISIONS_KEPT = 4


class ServedGraph:
    def __init__(
        self,
        store: Store,
        warm_up: Callable[[PolicyGraph], object],
        check_every_s: float = 1.0,
        fixed: PolicyGraph | None = None,
    ) -> None:
        """With ``fixed``, serve that graph as it is (a store without revision records)."""
        self.store = store
        self._warm_up = warm_up
        self._check_every_s = check_every_s
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self.editable = fixed is None
        self._policy = fixed if fixed is not None else self._load()
        self._past: OrderedDict[int, PolicyGraph] = OrderedDict()
        self._past_lock = threading.Lock()

    def check_due(self) -> bool:
        """Whether ``current`` would ask the store for its head (and may load a revision)."""
        return self.editable and time.monotonic() - self._checked_at >= self._check_every_s

    def current(self) -> PolicyGraph:
        """The newest revision, reloaded if another replica moved the head since the last check."""
        if self.check_due():
            with self._lock:
                if time.monotonic() - self._checked_at >= self._check_every_s:
                    latest = revisions.head(self.store)
                    if latest is not None and latest.number != self._policy.revision_number:
                        self._policy = self._load()
                    self._checked_at = time.monotonic()
        return self._policy

    def at_revision(self, spec: str) -> tuple[PolicyGraph, date | None]:
        """The graph as it was at a past revision, and the "as known on" day an answer from it
        takes unless asked otherwise: the day, when ``spec`` is a date (what the service answered
        then); None (today) for a revision number. See ``policy_at_revision``."""
        newest = self.current()
        with self._past_lock:
            policy, day = policy_at_revision(self.store if self.editable else None, spec, newest, self._past)
            while len(self._past) > PAST_REVISIONS_KEPT:
                self._past.popitem(last=False)
            return policy, day

    def reload(self) -> PolicyGraph:
        """Load the newest revision now (after this replica committed)."""
        with self._lock:
            self._policy = self._load()
            self._checked_at = time.monotonic()
            return self._policy

    def _load(self) -> PolicyGraph:
        policy = revisions.policy_at_head(self.store)
        self._warm_up(policy)
        return policy


def policy_at_revision(
    store: Store | None, spec: str, newest: PolicyGraph, kept: OrderedDict[int, PolicyGraph] | None = None
) -> tuple[PolicyGraph, date | None]:
    """The graph at the revision ``spec`` names (a number, or a date: the revision in force at its
    end), rebuilt from the store's revision records; ``newest`` when that is the newest revision.
    Also the day a date names (answers take it as their "as known on" day). InvalidParameter for
    a malformed ``spec``, UnknownRevision for a revision the store does not have."""
    if not REVISION_SPEC.match(spec):
        raise InvalidParameter(
            "at_revision must be a revision number (from 1) or a date (YYYY-MM-DD)", "at_revision"
        )
    day = None
    if "-" in spec:
        try:
            day = date.fromisoformat(spec)
        except ValueError:
            raise InvalidParameter("at_revision must be a valid date (YYYY-MM-DD)", "at_revision") from None
    if store is None:
        raise UnknownRevision("this service answers from a fixed graph without revisions", "at_revision")
    number = revisions.revision_on(store, day) if day is not None else int(spec)
    if number == newest.revision_number:
        return newest, day
    if kept is not None and number in kept:
        kept.move_to_end(number)
        return kept[number], day
    try:
        policy = revisions.policy_at(store, number)
    except UnknownRevision:
        raise UnknownRevision(f"there is no revision {number}", "at_revision") from None
    if kept is not None:
        kept[number] = policy
    return policy, day
