"""Typed settings, read from PAYERKG_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from payerkg.core.encounter import Limits


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

    def encounter_limits(self) -> Limits:
        return Limits(self.max_encounter_bytes, self.max_encounter_depth, self.max_encounter_triples)
