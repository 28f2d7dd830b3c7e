"""Shared fixtures: the real graph, loaded once per test session."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from payerkg.core.coverage import CoverageQuestion
from payerkg.core.dataset import PolicyGraph, default_data_root, load_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def policy() -> PolicyGraph:
    return load_dataset()


@pytest.fixture(scope="session")
def data_root() -> Path:
    return default_data_root()


def question_from(data: dict[str, Any]) -> CoverageQuestion:
    """A CoverageQuestion from a case file's question object (same names as the HTTP API)."""
    fields = dict(data)
    fields["date_of_service"] = date.fromisoformat(fields.pop("date"))
    if "as_of" in fields:
        fields["as_of"] = date.fromisoformat(fields["as_of"])
    return CoverageQuestion(**fields)
