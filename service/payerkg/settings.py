"""Typed settings, read from PAYERKG_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from payerkg.core.encounter import Limits
from payerkg.core.sparql import QueryLimits


class Settings(BaseSettings):
    """Run-time settings of the service and the CLI."""

    model_config = SettingsConfigDict(env_prefix="PAYERKG_")

    data_dir: Path | None = None
    """Folder holding ontology/, shapes/ and policies/; default: the data shipped with the package."""

    host: str = "127.0.0.1"
    port: int = 8000

    max_encounter_bytes: int = 256 * 1024
    max_encounter_depth: int = 128
    max_encounter_triples: int = 5_000
    max_batch_bytes: int = 64 * 1024 * 1024

    sparql_timeout_s: float = 10.0
    """A /sparql query still running after this many seconds is stopped (503 query_timeout)."""
    sparql_max_rows: int = 10_000
    """More result rows (or CONSTRUCT/DESCRIBE triples) than this: 422 result_too_large."""
    sparql_max_query_bytes: int = 64 * 1024
    sparql_max_concurrent: int = 4
    """Query worker processes running at once; a request waits for one until its deadline."""
    sparql_max_memory_mb: int = 1024
    """Memory a query worker may add to the served process (0: no cap); past it, result_too_large."""

    def encounter_limits(self) -> Limits:
        return Limits(self.max_encounter_bytes, self.max_encounter_depth, self.max_encounter_triples)

    def query_limits(self) -> QueryLimits:
        return QueryLimits(self.sparql_timeout_s, self.sparql_max_rows, self.sparql_max_memory_mb)
