"""Shared fixtures: the real graph, loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from payerkg.graph.catalog import PayerIdentifiers, payer_identifiers
from payerkg.graph.dataset import PolicyGraph, default_data_root, load_dataset
from payerkg.services import startup

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Each test process collects garbage as the CLI and the service do (services/startup.py)."""
    startup.tune_collector()


@pytest.fixture(scope="session", autouse=True)
def snapshot_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start-up snapshots of commands run by the tests go to a folder of this session, never to
    the user's cache (child processes inherit it)."""
    folder = tmp_path_factory.mktemp("payerkg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PAYERKG_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def policy() -> PolicyGraph:
    return load_dataset()


@pytest.fixture(scope="session")
def data_root() -> Path:
    return default_data_root()


@pytest.fixture(scope="session")
def payer_ids(policy: PolicyGraph) -> PayerIdentifiers:
    """The identifiers claims name payers by, as the real graph states them."""
    return payer_identifiers(policy)
