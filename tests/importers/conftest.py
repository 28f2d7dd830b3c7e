"""Importer tests: the fixture files beside them (hand-made, in CMS's published layouts) and a
fresh store holding the shipped graph as revision 1 for each test that writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from payerkg.editing import revisions
from payerkg.stores import MemoryStore, Store

FILES = Path(__file__).parent / "files"


@pytest.fixture
def store() -> Store:
    """A memory store seeded with the shipped policy files (revision 1)."""
    fresh = MemoryStore()
    revisions.seed(fresh)
    return fresh
