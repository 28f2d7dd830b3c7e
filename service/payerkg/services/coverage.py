"""Coverage as the API, the CLI and the web pages offer it: one question, the payers x codes
matrix, the conflicts in the graph, the review list, and the values each facet takes."""

from __future__ import annotations

import dataclasses
from datetime import date

from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion, coverage
from payerkg.coverage.conflicts import GraphConflict, conflicts_as_of
from payerkg.coverage.matrix import DEFAULT_CODES, Matrix, coverage_matrix
from payerkg.editing.review import ReviewEntry, parse_age, rule_reviews
from payerkg.errors import InvalidParameter
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.graph.rules import rule_model
from payerkg.graph.served import ServedGraph


def ask(policy: PolicyGraph, question: CoverageQuestion) -> CoverageAnswer:
    """What the payer requires for the code on the date of service, and why."""
    return coverage(policy, question)


def ask_at_revision(served: ServedGraph, question: CoverageQuestion, at_revision: str) -> CoverageAnswer:
    """The answer the service gave at a past revision: ``at_revision`` a revision number, or a date
    that picks the revision in force at its end and is also the "as known on" day unless the
    question gives one. UnknownRevision (404, exit 2) if the store has no such revision."""
    policy, day = served.at_revision(at_revision)
    return coverage(policy, dataclasses.replace(question, as_of=question.as_of or day))


def matrix(
    policy: PolicyGraph,
    day: date,
    codes: str | None = None,
    as_of: date | None = None,
    max_codes: int | None = None,
) -> Matrix:
    """Payers x codes on one date; ``codes`` comma-separated (default: a telehealth set)."""
    chosen = [c.strip() for c in codes.split(",") if c.strip()] if codes else list(DEFAULT_CODES)
    if max_codes is not None and len(chosen) > max_codes:
        raise InvalidParameter(f"at most {max_codes} codes per matrix", "codes")
    return coverage_matrix(policy, day, chosen, as_of=as_of)


def conflicts(policy: PolicyGraph, as_of: date | None = None) -> list[GraphConflict]:
    """Every conflict in the graph as known on ``as_of`` (default today), worked out once."""
    return conflicts_as_of(policy, as_of)


def review(policy: PolicyGraph, payer: str | None = None, older_than: str | None = None) -> list[ReviewEntry]:
    """Rule versions oldest review first; ``older_than`` such as 12m, 90d or 2y."""
    try:
        age = parse_age(older_than) if older_than else None
    except ValueError as error:
        raise InvalidParameter(str(error), "older_than") from None
    return rule_reviews(policy, payer, age)


def facet_values(policy: PolicyGraph) -> dict[str, list[str]]:
    """The values each facet of a coverage question takes, as the graph's vocabularies define them
    (yes/no facets have none): what entry points offer, and what an answer accepts."""
    vocabulary = rule_model(policy).vocabulary
    return {facet.name: vocabulary.values(facet) for facet in FACETS if facet.vocabulary is not None}
