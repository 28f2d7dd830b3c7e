"""Commands run in one process parse the shipped files once per content: the graph is shared while
the files are unchanged and parsed again as soon as one changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from payerkg.cli.common import current_policy
from payerkg.graph.dataset import default_data_root, files_hash, load_dataset
from payerkg.settings import Settings
from tests.cli.runner import run_cli


def test_files_hash_is_the_identity_load_dataset_gives() -> None:
    assert files_hash() == load_dataset().content_hash


def test_a_changed_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    for folder in ("ontology", "shapes", "policies"):
        shutil.copytree(default_data_root() / folder, root / folder)
    monkeypatch.setenv("PAYERKG_DATA_DIR", str(root))
    first = current_policy(Settings())
    assert current_policy(Settings()) is first

    question = [
        "coverage",
        "--payer",
        "medicare",
        "--code",
        "99213",
        "--date",
        "2025-06-01",
        "--format",
        "json",
    ]
    before = json.loads(run_cli(*question).stdout)
    (root / "policies" / "extra.ttl").write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        '<https://w3id.org/payerkg/payer/medicare> rdfs:comment "a new statement" .\n'
    )
    after = json.loads(run_cli(*question).stdout)
    assert current_policy(Settings()) is not first
    assert after["graph_revision"] != before["graph_revision"]
    assert after["determination"] == before["determination"]
