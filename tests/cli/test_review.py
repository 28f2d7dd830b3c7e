"""`payerkg review` and GET /review: rule versions oldest review first, with evidence and sources."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from payerkg.cli.main import command_line

runner = CliRunner()
app = command_line(["review"])


def test_review_lists_versions_oldest_review_first_with_sources() -> None:
    result = runner.invoke(app, ["review", "--payer", "uhc-commercial", "--format", "json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert entries and all(e["payer"] == "uhc-commercial" for e in entries)
    days = [e["reviewed_on"] for e in entries]
    assert days == sorted(days)
    assert all(e["sources"] and e["evidence_level"] for e in entries)


def test_review_older_than_keeps_only_stale_versions() -> None:
    everything = json.loads(runner.invoke(app, ["review", "--format", "json"]).stdout)
    stale = json.loads(runner.invoke(app, ["review", "--older-than", "100y", "--format", "json"]).stdout)
    assert everything and stale == []


def test_review_refuses_a_malformed_age() -> None:
    result = runner.invoke(app, ["review", "--older-than", "soon"])
    assert result.exit_code == 2
    assert "--older-than" in result.output
