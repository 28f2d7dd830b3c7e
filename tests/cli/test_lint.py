"""`payerkg lint`: the shipped data is clean; each broken rule file fails as expected.tsv says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BROKEN = Path(__file__).parent / "broken-rules"
EXPECTED = [
    line.split("\t")
    for line in (BROKEN / "expected.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payerkg.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_shipped_data_is_clean() -> None:
    result = run_cli("lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_every_fixture_is_listed() -> None:
    assert {row[0] for row in EXPECTED} == {p.name for p in BROKEN.glob("*.ttl")}


@pytest.mark.parametrize("name,exit_code,fragment", EXPECTED, ids=[row[0] for row in EXPECTED])
def test_broken_rule_file(name: str, exit_code: str, fragment: str) -> None:
    result = run_cli("lint", str(BROKEN / name))
    assert result.returncode == int(exit_code), result.stdout + result.stderr
    if exit_code == "1":
        lines = [line for line in result.stdout.splitlines() if line]
        assert any(
            line.split(": ")[0].endswith(f"broken-rules/{name}")
            and ": https://w3id.org/payerkg/rule-version/test-rule-v1: " in line
            and fragment in line
            for line in lines
        ), lines
    elif exit_code == "2":
        assert fragment in result.stderr
        assert "Traceback" not in result.stderr
