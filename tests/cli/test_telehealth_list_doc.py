"""docs/medicare-telehealth-list.md is what `payerkg telehealth-list-doc` generates from the graph."""

from __future__ import annotations

from pathlib import Path

from payerkg.cli.telehealth_list import listings, render
from payerkg.graph.dataset import PolicyGraph

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_telehealth_list_page_is_current(policy: PolicyGraph) -> None:
    assert (DOCS / "medicare-telehealth-list.md").read_text(encoding="utf-8") == render(policy), (
        "docs/medicare-telehealth-list.md is stale: run `payerkg telehealth-list-doc`"
    )


def test_years_show_additions_status_and_sources(policy: PolicyGraph) -> None:
    listed_2025, listed_2026 = listings(policy, 2025), listings(policy, 2026)
    assert listed_2025["97550"].status == "provisional"
    assert "97550" not in listed_2026  # not established for 2026: left out, never guessed
    assert {"90849", "G0473", "G0545", "92622", "92623"} <= listed_2026.keys()
    assert "90849" not in listed_2025
    assert all(item.status == "permanent" for item in listed_2026.values())
    assert all(item.sources for item in listed_2026.values())
    page = render(policy)
    assert "- added: 90849, 92622, 92623, G0136, G0473, G0545" in page  # G0136: 2025 not established
    no_longer = (
        page.split("## CY 2026", 1)[1].split("- no longer listed: ", 1)[1].split("\n", 1)[0].split(", ")
    )
    assert {"96202", "96203", "97550", "97551", "97552", "G0539", "G0540", "G0541", "G0542", "G0543"} <= set(
        no_longer
    )
    assert "97110" in no_longer  # physical therapy: provisional through 2025, 2026 not established


def test_physical_therapy_is_provisional_in_2024_and_2025(policy: PolicyGraph) -> None:
    for year in (2024, 2025):
        listed = listings(policy, year)
        assert listed["97161"].status == "provisional"
        assert "apta-cy2025-pfs-proposed" in {source[0] for source in listed["97161"].sources}
    assert "92603" in listings(policy, 2025)
    assert "92603" not in listings(policy, 2024)
