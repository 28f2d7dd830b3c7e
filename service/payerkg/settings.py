"""Typed settings, read from PAYERKG_* environment variables.

A dataclass read by a small parser rather than pydantic-settings: importing that costs a one-shot
command more than the rest of its start-up (docs/benchmarks.md). Each field is read from
``PAYERKG_<NAME>`` (any case) unless given as a keyword; a value that is not of the field's type
is a ``SettingsError`` naming the variable, which the CLI prints (exit 2) and the service refuses
to start with.
"""

from __future__ import annotations

import functools
import json
import os
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from payerkg.errors import SettingsError, StoreError

if TYPE_CHECKING:  # imported where used: a one-shot command loads no HTTP client or JSON Schema
    from payerkg.sparql_endpoint.query import QueryLimits
    from payerkg.stores import Store
    from payerkg.validation.encounter import Limits

ENV_PREFIX = "PAYERKG_"
TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
TYPE_NAMES: dict[object, str] = {bool: "true or false", int: "an integer", float: "a number"}


@dataclass
class Settings:
    """Run-time settings of the service and the CLI."""

    data_dir: Path | None = None
    """Folder holding ontology/, shapes/ and policies/; default: the data shipped with the package."""

    cache_dir: Path | None = None
    """Where commands keep start-up snapshots of the graph (one per revision); default:
    ``$XDG_CACHE_HOME/payerkg``, else ``~/.cache/payerkg``."""
    snapshots: bool = True
    """Whether commands load and save start-up snapshots (PAYERKG_SNAPSHOTS=false: never)."""

    store: Literal["memory", "oxigraph", "remote"] = "memory"
    """Where the graph lives (docs/deployment.md): in this process, in an embedded on-disk Oxigraph
    store at ``store_path``, or on a SPARQL 1.1 server at the ``store_*_url`` endpoints."""
    store_path: Path | None = None
    memory_max_statements: int = 50_000
    """The most statements the in-memory store seeds from the graph files; past it the service
    refuses to start and recommends Oxigraph. Measured: the in-memory store starts with 51,100
    statements in about 9 s and with 102,200 in about 16 s (docs/benchmarks-scale.md); the
    shipped graph is about 12,000."""
    store_query_url: str | None = None
    store_update_url: str | None = None
    store_graph_url: str | None = None
    """Not read since 0.4 (the store needs only the query and update endpoints); still accepted,
    so that a configuration that sets PAYERKG_STORE_GRAPH_URL keeps starting."""
    store_timeout_s: float = 30.0
    editing: bool = True
    """Whether this process accepts changes. With several replicas on one store, exactly one
    should (Oxigraph does not serialize concurrent writers; docs/deployment.md)."""
    revision_check_s: float = 1.0
    """How often (at most) a replica asks the store whether another replica made a new revision."""

    api_keys: dict[str, str] = field(default_factory=dict)
    """API keys, stored hashed: SHA-256 hex digest of the key -> "role:name", role one of reader,
    integrator, editor, admin (``payerkg key new`` makes a key and prints its entry)."""
    key_file: Path | None = None
    """A JSON file of API keys that ``payerkg key new|list|revoke`` write and the service watches:
    keys added or revoked there work, or stop working, from the next request (no restart)."""
    anonymous_role: Literal["none", "reader", "integrator"] = "none"
    """What callers without a key may do: nothing but /health and the format documents (none),
    read coverage, catalog and SPARQL (reader), or also validate encounters (integrator)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    """Processes ``payerkg serve`` answers with (uvicorn workers on one port), each with its own copy
    of the graph; more than one only where no process takes changes (``check_workers``)."""

    max_encounter_bytes: int = 256 * 1024
    max_encounter_depth: int = 128
    max_encounter_triples: int = 5_000
    max_batch_bytes: int = 64 * 1024 * 1024
    anonymous_max_batch_bytes: int = 1024 * 1024
    """The largest batch a caller without a key may send (a keyed caller: ``max_batch_bytes``)."""

    max_concurrent_per_caller: int = 8
    """Requests one key may have running at once; one more is 429 with Retry-After (api/limits.py)."""
    max_concurrent_anonymous: int = 4
    """The same for callers without a key, counted per client address."""

    sparql_timeout_s: float = 10.0
    """A /sparql query still running after this many seconds is stopped (503 query_timeout)."""
    sparql_max_rows: int = 10_000
    """More result rows (or CONSTRUCT/DESCRIBE triples) than this: 422 result_too_large."""
    sparql_max_query_bytes: int = 64 * 1024
    sparql_max_concurrent: int = 4
    """Query worker processes running at once, shared by all callers."""
    sparql_max_per_caller: int = 2
    """Query workers one caller may hold at once; one more query is 429 with Retry-After."""
    sparql_queue_wait_s: float = 1.0
    """How long a query waits for a free worker before 503 busy with Retry-After."""
    sparql_max_memory_mb: int = 1024
    """Memory a query worker may add to the served process (0: no cap); past it, result_too_large."""
    sparql_engine: Literal["oxigraph", "rdflib"] = "oxigraph"
    """What evaluates /sparql queries: pyoxigraph over an in-memory copy of the served graphs, or
    rdflib over them as they are (slower; no copy held)."""

    def __post_init__(self) -> None:
        """Fill each field still at its default from its environment variable, then check every
        value against the field's type."""
        environment = {name.upper(): value for name, value in os.environ.items()}
        for spec in fields(self):
            kind = _field_types()[spec.name]
            variable = ENV_PREFIX + spec.name.upper()
            value = getattr(self, spec.name)
            if variable in environment and value == _default(spec):
                value = _parse(environment[variable], kind, variable)
            elif not _is_instance(value, kind):
                value = _parse(str(value), kind, spec.name) if isinstance(value, str | int) else value
                if not _is_instance(value, kind):
                    raise SettingsError(f"{spec.name}: {_expected(kind)} expected")
            setattr(self, spec.name, value)

    def check_workers(self) -> None:
        """Refuse a number of workers that would not serve one graph. Workers share nothing but the
        store, so several may serve only where none takes changes: an edit made through one would
        be missing from the in-memory stores of the others, and two writers on one SPARQL server
        could both commit on one base (docs/deployment.md). An embedded Oxigraph folder opens in
        one process only."""
        if self.workers < 1:
            raise SettingsError("PAYERKG_WORKERS: at least 1 expected")
        if self.workers == 1:
            return
        if self.store == "oxigraph":
            raise SettingsError(
                "an embedded Oxigraph store opens in one process only: run one worker, or serve the "
                "store from a SPARQL server (PAYERKG_STORE=remote) to run several"
            )
        if self.editing:
            raise SettingsError(
                f"{self.workers} workers share nothing but the store, and changes must go to one "
                "process: set PAYERKG_EDITING=false for them and run the writer as its own "
                "process with one worker (docs/deployment.md)"
            )

    def open_store(self) -> Store:
        """The configured store (empty or seeded; see payerkg.editing.revisions)."""
        if self.store == "memory":
            from payerkg.stores import MemoryStore

            return MemoryStore(max_statements=self.memory_max_statements)
        if self.store == "oxigraph":
            if self.store_path is None:
                raise StoreError("PAYERKG_STORE=oxigraph needs PAYERKG_STORE_PATH (a folder)")
            from payerkg.stores.oxigraph import OxigraphStore

            return OxigraphStore(self.store_path)
        from payerkg.stores.remote import RemoteStore

        query, update = self.store_query_url, self.store_update_url
        if not (query and update):
            raise StoreError(
                "PAYERKG_STORE=remote needs PAYERKG_STORE_QUERY_URL and PAYERKG_STORE_UPDATE_URL"
            )
        return RemoteStore(query, update, timeout_s=self.store_timeout_s)

    def encounter_limits(self) -> Limits:
        from payerkg.validation.encounter import Limits

        return Limits(self.max_encounter_bytes, self.max_encounter_depth, self.max_encounter_triples)

    def query_limits(self) -> QueryLimits:
        from payerkg.sparql_endpoint.query import QueryLimits

        return QueryLimits(self.sparql_timeout_s, self.sparql_max_rows, self.sparql_max_memory_mb)


@functools.cache
def _field_types() -> dict[str, object]:
    return typing.get_type_hints(Settings)


def _default(spec: Field[object]) -> object:
    if spec.default is not MISSING:
        return spec.default
    factory = spec.default_factory
    return factory() if callable(factory) else None


def _options(kind: object) -> tuple[object, ...]:
    """The types a field accepts: the members of a union, or the type itself."""
    return typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)


def _is_instance(value: object, kind: object) -> bool:
    for option in _options(kind):
        origin = typing.get_origin(option)
        if option is type(None) and value is None:
            return True
        if origin is Literal and value in typing.get_args(option):
            return True
        if origin is dict and isinstance(value, dict):
            return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if option is int and isinstance(value, bool):
            continue
        if isinstance(option, type) and origin is None and isinstance(value, option):
            return True
    return False


def _parse(text: str, kind: object, name: str) -> object:
    """``text`` as a value of ``kind``, or a SettingsError naming ``name``."""
    for option in _options(kind):
        origin = typing.get_origin(option)
        try:
            if origin is Literal:
                if text in typing.get_args(option):
                    return text
            elif origin is dict:
                value = json.loads(text)
                if _is_instance(value, option):
                    return value
            elif option is bool:
                if text.strip().lower() in TRUE | FALSE:
                    return text.strip().lower() in TRUE
            elif option is int or option is float:
                return option(text.strip())
            elif option is Path:
                return Path(text)
            elif option is str:
                return text
        except ValueError:
            continue
    raise SettingsError(f"{name}: {_expected(kind)} expected")


def _expected(kind: object) -> str:
    names = []
    for option in _options(kind):
        if option is type(None):
            continue
        if typing.get_origin(option) is Literal:
            names.append("one of " + ", ".join(str(v) for v in typing.get_args(option)))
        elif typing.get_origin(option) is dict:
            names.append("a JSON object of strings")
        else:
            names.append(TYPE_NAMES.get(option, "text"))
    return " or ".join(names)
