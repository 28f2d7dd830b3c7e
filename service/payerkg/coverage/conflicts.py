"""Every conflict in the graph: rule versions, for one payer and code, in force over overlapping
dates and able to apply to the same service, that say incompatible things. Two versions of one
rule are compared too: unless one revises or supersedes the other, a rule saying two things at
once over the same dates is a conflict.

Conflicts between a payer's own rule and a baseline it inherits are listed under that payer;
a baseline's internal conflicts are listed once, under the baseline.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from rdflib import URIRef

from payerkg.coverage.disagreement import can_apply_together, disagreements
from payerkg.graph.catalog import payers
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import Candidate, RuleModel, rule_model
from payerkg.namespaces import PK


@dataclass
class Side:
    rule: str
    says: list[str]
    evidence_level: str
    sources: list[str]


@dataclass
class GraphConflict:
    payer: str
    topic: str
    first: Side
    second: Side
    overlap_start: str
    overlap_end: str | None
    codes: list[str] = field(default_factory=list)


def graph_conflicts(
    policy: PolicyGraph, as_of: date | None = None, codes_of: Collection[URIRef] | None = None
) -> list[GraphConflict]:
    """All conflicts among versions that are current knowledge on ``as_of`` (default today);
    with ``codes_of``, only those about these codes (an edit checks the codes it touches)."""
    as_of = as_of or date.today()
    codes = [
        (row["code"], str(row["notation"]))
        for row in policy.select("procedure-codes")
        if codes_of is None or row["code"] in codes_of
    ]
    found: dict[tuple[str, str, str, str], GraphConflict] = {}
    model = rule_model(policy)
    for payer in payers(policy):
        payer_iri = URIRef(payer.iri)
        for code, notation in codes:
            current = [c for c in model.candidates(payer_iri, code) if c.current(as_of)]
            for i, first in enumerate(current):
                for second in current[i + 1 :]:
                    if _superseded_over_overlap(model, current, first, second, as_of):
                        continue
                    for conflict in _pair(model, payer_iri, payer.id, first, second):
                        key = (conflict.payer, conflict.topic, conflict.first.rule, conflict.second.rule)
                        found.setdefault(key, conflict).codes.append(notation)
    return sorted(found.values(), key=lambda c: (c.payer, c.topic, c.first.rule, c.second.rule))


class _Conflicts:
    """A revision's conflicts, per "as known on" date asked."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.as_of: dict[date | None, list[GraphConflict]] = {}


def conflicts_as_of(policy: PolicyGraph, as_of: date | None = None) -> list[GraphConflict]:
    """``graph_conflicts`` over the whole graph, worked out once per revision and date."""
    found = policy.view(_Conflicts).as_of
    if as_of not in found:
        found[as_of] = graph_conflicts(policy, as_of)
    return found[as_of]


def _superseded_over_overlap(
    model: RuleModel, current: list[Candidate], first: Candidate, second: Candidate, as_of: date
) -> bool:
    """Whether a superseding version ends one of the pair on every day they overlap."""
    start = max(first.start, second.start)
    ends = [e for e in (first.end, second.end) if e is not None]
    ended = model.superseded(current, start, min(ends) if ends else None, as_of)
    return first.iri in ended or second.iri in ended


def _pair(
    model: RuleModel, payer: URIRef, payer_id: str, first: Candidate, second: Candidate
) -> list[GraphConflict]:
    a, b = model.terms.statements(first.iri), model.terms.statements(second.iri)

    def values_a(p: URIRef) -> list:  # type: ignore[type-arg]
        return a.get(p, [])

    def values_b(p: URIRef) -> list:  # type: ignore[type-arg]
        return b.get(p, [])

    rule_a, rule_b = values_a(PK.versionOf), values_b(PK.versionOf)
    # Versions of one rule are compared too: a rule that says two things at once is a conflict.
    if payer not in (*values_a(PK.payer), *values_b(PK.payer)):
        return []
    if set(rule_b) & set(values_a(PK.overrides)) or set(rule_a) & set(values_b(PK.overrides)):
        return []
    start = max(first.start, second.start)
    ends = [e for e in (first.end, second.end) if e is not None]
    end = min(ends) if ends else None
    if (end is not None and end < start) or not can_apply_together(values_a, values_b):
        return []
    return [
        GraphConflict(
            payer=payer_id,
            topic=d.topic,
            first=_side(model, first.iri, [str(v) for v in d.first_says], values_a(PK.evidenceLevel)),
            second=_side(model, second.iri, [str(v) for v in d.second_says], values_b(PK.evidenceLevel)),
            overlap_start=start.isoformat(),
            overlap_end=end.isoformat() if end else None,
        )
        for d in disagreements(values_a, values_b)
    ]


def _side(model: RuleModel, version: URIRef, says: list[str], level: list) -> Side:  # type: ignore[type-arg]
    return Side(
        rule=str(version),
        says=[s.rsplit("/", 1)[-1].rsplit("#", 1)[-1] for s in says],
        evidence_level=str(level[0]).rsplit("#", 1)[-1] if level else "",
        sources=sorted({c.url for c in model.citations_of(version)}),
    )
