"""The CLI and the service set the cycle collector's thresholds before they load a graph
(``services/startup.py`` says why); loading a graph as a library leaves them alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph, load_dataset
from payerkg.services.startup import COLLECTOR_THRESHOLDS
from tests.cli.runner import run_cli

CPYTHON_DEFAULT = (700, 10, 10)


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    """CPython's own thresholds for the test (the suite runs with the CLI's), restored after."""
    saved = gc.get_threshold()
    gc.set_threshold(*CPYTHON_DEFAULT)
    yield
    gc.set_threshold(*saved)


def test_a_command_sets_them(default_thresholds: None) -> None:
    assert run_cli("values").returncode == 0
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS


def test_the_service_sets_them(default_thresholds: None, policy: PolicyGraph) -> None:
    create_app(policy=policy)
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS


def test_loading_a_graph_as_a_library_leaves_them(default_thresholds: None) -> None:
    load_dataset()
    assert gc.get_threshold() == CPYTHON_DEFAULT
