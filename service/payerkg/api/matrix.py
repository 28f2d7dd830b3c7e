"""Views across payers: the coverage matrix and the conflicts in the graph."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep
from payerkg.coverage.conflicts import conflicts_as_of
from payerkg.coverage.matrix import DEFAULT_CODES, coverage_matrix
from payerkg.errors import InvalidParameter

router = APIRouter(tags=["coverage"])


@router.get("/matrix", dependencies=READER, summary="Coverage matrix: payers x codes on one date")
def matrix(
    policy: PolicyDep,
    date_of_service: Annotated[date, Query(alias="date", examples=["2025-06-01"])],
    codes: Annotated[str | None, Query(max_length=400, description="Comma-separated codes")] = None,
    as_of: Annotated[date | None, Query()] = None,
) -> dict[str, Any]:
    """Each cell links the rule versions that decide it; `unknown` where no rule answers."""
    chosen = [c.strip() for c in codes.split(",") if c.strip()] if codes else list(DEFAULT_CODES)
    if len(chosen) > 40:
        raise InvalidParameter("at most 40 codes per matrix", "codes")
    return asdict(coverage_matrix(policy, date_of_service, chosen, as_of=as_of))


@router.get(
    "/conflicts",
    dependencies=READER,
    summary="Conflicts: rules for one payer and code that disagree over shared dates",
)
def conflicts(policy: PolicyDep, as_of: Annotated[date | None, Query()] = None) -> list[dict[str, Any]]:
    """Both sides of each conflict, with their evidence levels and sources (computed once per revision)."""
    return [asdict(c) for c in conflicts_as_of(policy, as_of)]
