"""The graph a service answers from: the newest revision of its store, kept warm.

Several replicas may share one store. Each checks the store's head revision at most every
``check_every_s`` seconds and, when another replica committed, loads the new revision before
answering; its own commits take effect at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from payerkg.editing import revisions
from payerkg.graph.dataset import PolicyGraph
from payerkg.stores import Store


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

    def current(self) -> PolicyGraph:
        """The newest revision, reloaded if another replica moved the head since the last check."""
        if self.editable and time.monotonic() - self._checked_at >= self._check_every_s:
            with self._lock:
                if time.monotonic() - self._checked_at >= self._check_every_s:
                    latest = revisions.head(self.store)
                    if latest is not None and latest.number != self._policy.revision_number:
                        self._policy = self._load()
                    self._checked_at = time.monotonic()
        return self._policy

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
