"""The README's examples run as written: files they name ship with the repository, the batch
example validates, the head revision and the port are where the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.cli.runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL = "\n".join(re.findall(r"```sh\n(.*?)```", README, flags=re.S))


def test_every_repository_file_a_command_names_ships() -> None:
    named = set(re.findall(r"(?:@|--batch |validate )((?:docs|policies|tests|ontology)/[\w./-]+)", SHELL))
    assert "docs/examples/day.ndjson" in named
    assert [path for path in sorted(named) if not (ROOT / path).is_file()] == []


def test_the_batch_example_validates_with_findings_naming_the_billed_code() -> None:
    ran = run_cli("validate", "--batch", str(ROOT / "docs/examples/day.ndjson"), "--format", "json")
    assert ran.returncode == 1  # some of its encounters do not conform, none is refused
    records = [json.loads(line) for line in ran.stdout.splitlines()]
    assert len(records) == 7 and {r["no_violations"] for r in records} == {True, False}
    assert "code 99213: not covered by this payer" in ran.stdout
    assert '"error"' not in ran.stdout


def test_the_head_revision_is_where_the_readme_says() -> None:
    assert "curl -s 127.0.0.1:8000/health" in SHELL and 'revision_number"]' in SHELL
    health = TestClient(create_app(Settings(), store=MemoryStore())).get("/health").json()
    assert health["revision_number"] == 1


def test_the_port_setting_is_documented() -> None:
    assert "PAYERKG_PORT=8080" in README and "make serve PORT=8080" in README
    assert Settings(port=8080).port == 8080
