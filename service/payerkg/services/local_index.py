"""The local version index (``graph/version_index.py``) as the service and the CLI use it: found
in the cache folder for each revision they load of a store read per (payer, code), built there
when missing (by the service in the background, by `payerkg store index` at once).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from payerkg.editing import revisions
from payerkg.errors import PayerKGError, SettingsError
from payerkg.graph import version_index
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import rule_model
from payerkg.services.startup import snapshot_folder
from payerkg.settings import Settings
from payerkg.stores import Store

LOG = logging.getLogger("payerkg.store")


def store_source(settings: Settings) -> str | None:
    """The store an index file is of, as its name: ``oxigraph:<folder>`` or ``remote:<query
    url>``; None for the in-memory store (always read whole)."""
    if settings.store == "oxigraph" and settings.store_path is not None:
        return f"oxigraph:{settings.store_path.resolve()}"
    if settings.store == "remote" and settings.store_query_url:
        return f"remote:{settings.store_query_url}"
    return None


@dataclass(frozen=True)
class BuiltIndex:
    """What `payerkg store index` reports."""

    path: Path
    revision: int
    seconds: float


class LocalIndex:
    """The index of one store, kept under ``folder``: gives each loaded revision's rule model the
    index of its revision (``attach``), or builds the file in a background thread when there is
    none (``attach_or_build``: the rule model reads the store meanwhile)."""

    def __init__(self, store: Store, folder: Path, source: str) -> None:
        self.store = store
        self.path = version_index.index_path(folder, source)
        self.source = source
        self._lock = threading.Lock()
        self._latest: PolicyGraph | None = None
        self.builder: threading.Thread | None = None

    def attach(self, policy: PolicyGraph) -> bool:
        """Give ``policy``'s rule model its index if the file serves its revision; True if so."""
        if policy.store.bulk_reads:
            return False  # read whole: its rule model has every candidate already
        index = version_index.open_index(
            self.path, self.source, revisions.log(self.store), policy.revision_number
        )
        if index is not None:
            rule_model(policy).use_index(index)
        return index is not None

    def build(self, policy: PolicyGraph) -> float:
        """Build the file from ``policy`` (the store's head revision) now; the seconds it took.
        OSError or StoreError as ``version_index.build``."""
        started = time.monotonic()
        version_index.build(policy, self.path, self.source, revisions.log(self.store))
        return time.monotonic() - started

    def attach_or_build(self, policy: PolicyGraph) -> None:
        """``attach``, or start building the file (one build at a time), then attach it to the
        newest revision given by then."""
        with self._lock:
            self._latest = policy
        if policy.store.bulk_reads or self.attach(policy):
            return
        with self._lock:
            if self.builder is None or not self.builder.is_alive():
                self.builder = threading.Thread(
                    target=self._build, args=(policy,), name="payerkg-version-index", daemon=True
                )
                self.builder.start()

    def _build(self, policy: PolicyGraph) -> None:
        """Build from ``policy``, then attach the file to the newest revision loaded by then. A
        build that fails while a newer revision was loaded (one read across a commit is refused)
        is tried again from that one."""
        while True:
            try:
                took = self.build(policy)
                LOG.info(
                    "built the local version index of revision %d in %.1f s", policy.revision_number, took
                )
                break
            except (OSError, PayerKGError) as error:  # answers go on reading the store
                LOG.warning("the local version index could not be built: %s", error)
                with self._lock:
                    latest = self._latest
                if latest is None or latest is policy:
                    return
                policy = latest
        with self._lock:
            latest = self._latest
        if latest is not None:
            self.attach(latest)


def for_store(settings: Settings, store: Store, folder: Path | None) -> LocalIndex | None:
    """The local index of ``store`` (configured by ``settings``) under ``folder``; None when
    there is no folder (snapshots off) or the store is the in-memory one."""
    source = store_source(settings)
    return LocalIndex(store, folder, source) if folder is not None and source is not None else None


def build_now(store: Store, settings: Settings) -> BuiltIndex:
    """Build the index of ``store``'s head revision (the store ``settings`` configure) in the
    cache folder now. SettingsError without a folder or for the in-memory store, StoreError if
    the store holds no revision, OSError if the folder cannot be written."""
    source = store_source(settings)
    folder = snapshot_folder(settings)
    if source is None:
        raise SettingsError("the in-memory store is read whole; it has no local version index")
    if folder is None:
        raise SettingsError("PAYERKG_SNAPSHOTS is false: there is no cache folder to keep the index in")
    indexed = LocalIndex(store, folder, source)
    policy = revisions.policy_at_head(store)
    return BuiltIndex(indexed.path, policy.revision_number, indexed.build(policy))
