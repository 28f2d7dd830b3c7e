"""The coverage matrix: CLI, HTTP and the generated pages for a 2025 and a 2026 date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.coverage.matrix import coverage_matrix, render_markdown
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from tests.cli.runner import run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("day", [date(2025, 6, 1), date(2026, 6, 1)], ids=str)
def test_generated_page_is_current(policy: PolicyGraph, day: date) -> None:
    expected = render_markdown(coverage_matrix(policy, day))
    page = DOCS / f"coverage-matrix-{day}.md"
    assert page.read_text(encoding="utf-8") == expected, (
        f"stale: run payerkg matrix --date {day} --format markdown > docs/{page.name}"
    )


def test_the_page_counts_the_cells_that_answer(policy: PolicyGraph) -> None:
    table = coverage_matrix(
        policy, date(2026, 6, 1), ["99213", "98005"], only_payers=["medicare", "fl-fully-insured"]
    )
    assert table.size == 4 and table.answered == 2  # Florida's law mandates nothing: unknown, saying why
    assert "2 of 4 cells (50%) answer" in render_markdown(table)


def test_cells_agree_with_coverage_and_link_rules(policy: PolicyGraph) -> None:
    table = coverage_matrix(policy, date(2025, 6, 1), ["99213", "99442", "98005"])
    medicare = table.cells["medicare"]
    assert medicare["99442"].determination == "invalid-code"
    assert medicare["98005"].determination == "not-covered"
    assert any(rule.endswith("medicare-telemedicine-codes-status-i") for rule in medicare["98005"].rules)
    assert medicare["99213"].determination == "covered" and medicare["99213"].rules
    assert "parity-ca" not in table.payers, "state-law baselines are layers, not rows"


def test_http_and_cli(policy: PolicyGraph) -> None:
    client = TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))
    body = client.get("/matrix", params={"date": "2025-06-01", "codes": "99213,98005"}).json()
    assert body["codes"] == ["99213", "98005"] and "medicare" in body["cells"]
    assert client.get("/matrix", params={"date": "June"}).status_code == 422
    result = run_cli("matrix", "--date", "2025-06-01", "--codes", "99213")
    assert result.returncode == 0 and "medicare" in result.stdout
    assert run_cli("matrix", "--date", "2025-13-01").returncode == 2
