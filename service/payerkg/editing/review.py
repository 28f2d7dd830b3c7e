"""How current each rule version is: the review list a policy editor works through, oldest first.

>>> from payerkg.graph.dataset import load_dataset
>>> entries = rule_reviews(load_dataset(), payer="medicare")
>>> entries[0].reviewed_on <= entries[-1].reviewed_on
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from rdflib import URIRef

from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.queries import Row
from payerkg.graph.rules import Citation, literal_date, rule_model


@dataclass(frozen=True)
class ReviewEntry:
    """One rule version with its review date, evidence level and sources."""

    rule_version: str
    label: str
    payer: str
    status: str
    evidence_level: str
    reviewed_on: date | None
    last_confirmed: date | None
    effective_start: date
    effective_end: date | None
    sources: list[Citation] = field(default_factory=list)


def rule_reviews(
    policy: PolicyGraph,
    payer: str | None = None,
    older_than: timedelta | None = None,
    today: date | None = None,
) -> list[ReviewEntry]:
    """Rule versions, oldest review first (never reviewed before all), optionally only one payer's
    own and only those last reviewed more than ``older_than`` before ``today``."""
    cutoff = (today or date.today()) - older_than if older_than is not None else None
    entries = [
        _entry(policy, row)
        for row in policy.select("rule-version-reviews")
        if payer is None or str(row["payerId"]) == payer
    ]
    if cutoff is not None:
        entries = [e for e in entries if e.reviewed_on is None or e.reviewed_on < cutoff]
    return sorted(entries, key=lambda e: (e.reviewed_on or date.min, e.rule_version))


def _entry(policy: PolicyGraph, row: Row) -> ReviewEntry:
    version = row["version"]
    assert isinstance(version, URIRef)
    return ReviewEntry(
        rule_version=str(version),
        label=str(row["label"]),
        payer=str(row["payerId"]),
        status=str(row["status"]),
        evidence_level=str(row["evidence"]),
        reviewed_on=literal_date(row.get("reviewed")),
        last_confirmed=literal_date(row.get("confirmed")),
        effective_start=row["start"].toPython(),
        effective_end=literal_date(row.get("end")),
        sources=rule_model(policy).citations_of(version),
    )


def parse_age(text: str) -> timedelta:
    """An age such as ``12m`` (months of 30 days), ``2y`` or ``90d``; ValueError otherwise."""
    units = {"d": 1, "m": 30, "y": 365}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) > 100 * 365:
        raise ValueError("an age is a whole number followed by d, m or y, such as 12m")
    return timedelta(days=int(number) * units[unit])
