"""`payerkg lint`: the shipped data is clean; each broken rule file fails as expected.tsv says."""

from __future__ import annotations

from pathlib import Path

import pytest

from payerkg.graph.dataset import default_data_root
from payerkg.validation.lint import lint_files
from tests.cli.runner import run_cli as run_cli  # also used by test_validate_cli
from tests.cli.runner import run_cli_process

BROKEN = Path(__file__).parent / "broken-rules"
EXPECTED = [
    line.split("\t")
    for line in (BROKEN / "expected.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.process
def test_shipped_data_is_clean() -> None:
    """The one test of `python -m payerkg.cli.main` as a separate process."""
    result = run_cli_process("lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "policy graph is clean" in result.stderr


def test_every_fixture_is_listed() -> None:
    assert {row[0] for row in EXPECTED} == {p.name for p in BROKEN.glob("*.ttl")}


@pytest.mark.parametrize("row", EXPECTED, ids=[row[0] for row in EXPECTED])
def test_broken_rule_file(row: list[str]) -> None:
    name, exit_code, fragment = row[:3]
    focus = row[3] if len(row) > 3 else "https://w3id.org/payerkg/rule-version/test-rule-v1"
    result = run_cli("lint", str(BROKEN / name))
    assert result.returncode == int(exit_code), result.stdout + result.stderr
    if exit_code == "1":
        lines = [line for line in result.stdout.splitlines() if line]
        assert any(
            line.split(": ")[0].endswith(f"broken-rules/{name}")
            and f": {focus}: " in line
            and fragment in line
            for line in lines
        ), lines
    elif exit_code == "2":
        assert fragment in result.stderr
        assert "Traceback" not in result.stderr


def test_statements_that_two_files_both_hold_count_once(tmp_path: Path) -> None:
    """A file read twice (a shipped rule file and a copy of it) states each of its statements in
    two graphs; the policy shapes count values in the merge, so no version has two payers."""
    copy = tmp_path / "telehealth-modality-copy.ttl"
    copy.write_bytes((default_data_root() / "policies" / "medicare" / "telehealth-modality.ttl").read_bytes())
    assert lint_files([copy]) == []
