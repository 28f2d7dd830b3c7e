"""For every code of code-table.csv, Medicare's answer in 2024, 2025 and 2026 agrees with the
code's validity and with Medicare's recognition of it."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.graph.dataset import PolicyGraph

ROWS = [
    row
    for row in csv.DictReader(
        line for line in (Path(__file__).parent / "code-table.csv").open() if not line.startswith("#")
    )
]
DATES = [date(2024, 6, 15), date(2025, 6, 15), date(2026, 6, 15)]
# Medicare status I (src:S12, src:S39, src:S29).
NOT_RECOGNIZED_FROM_2025 = {str(n) for n in range(98000, 98016)}


def _valid(row: dict[str, str], day: date) -> bool:
    start = date.fromisoformat(row["valid_from"]) if row["valid_from"] else date.min
    end = date.fromisoformat(row["valid_through"]) if row["valid_through"] else date.max
    return start <= day <= end


@pytest.mark.parametrize("day", DATES, ids=[d.isoformat() for d in DATES])
@pytest.mark.parametrize("row", ROWS, ids=[r["notation"] for r in ROWS])
def test_medicare_answer_matches_validity_and_recognition(
    policy: PolicyGraph, row: dict[str, str], day: date
) -> None:
    answer = coverage(policy, CoverageQuestion("medicare", row["notation"], day))
    if not _valid(row, day):
        assert answer.determination == "invalid-code"
    elif row["notation"] in NOT_RECOGNIZED_FROM_2025:
        assert answer.determination == "not-covered"
        assert answer.billing["bill_instead"][0].id == "office-em"
    else:
        assert answer.determination in ("covered", "conditional", "not-covered", "unknown")
