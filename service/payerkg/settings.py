"""Typed settings, read from PAYERKG_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Run-time settings of the service and the CLI."""

    model_config = SettingsConfigDict(env_prefix="PAYERKG_")

    data_dir: Path | None = None
    """Folder holding ontology/, shapes/ and policies/; default: the data shipped with the package."""

    host: str = "127.0.0.1"
    port: int = 8000
