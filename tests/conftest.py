"""Shared fixtures: the real graph, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from payerkg.graph.dataset import PolicyGraph, default_data_root, load_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def policy() -> PolicyGraph:
    return load_dataset()


@pytest.fixture(scope="session")
def data_root() -> Path:
    return default_data_root()
