"""docs/article-check.md is what `payerkg article-check` generates from the current graph."""

from __future__ import annotations

from pathlib import Path

from payerkg.cli.article_check import render
from payerkg.graph.dataset import PolicyGraph

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_article_check_page_is_current(policy: PolicyGraph) -> None:
    expected = render(policy, DOCS / "article-claims.json")
    assert (DOCS / "article-check.md").read_text(encoding="utf-8") == expected, (
        "docs/article-check.md is stale: run `payerkg article-check`"
    )


def test_every_article_claim_is_answered_without_repeating_its_error(policy: PolicyGraph) -> None:
    page = render(policy, DOCS / "article-claims.json")
    assert page.count("## Claim") == 8
    # Claim 1: a video visit on the telephone code is refused, the code is gone in 2025.
    claim1 = page.split("## Claim 2")[0]
    assert "**not-covered**" in claim1 and "**invalid-code**" in claim1
