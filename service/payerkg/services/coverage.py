"""Coverage as the API, the CLI and the web pages offer it: one question, the payers x codes
matrix, the conflicts in the graph, the review list, and the values each facet takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from rdflib import URIRef

from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion, coverage
from payerkg.errors import InvalidParameter
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.graph.rules import CODE_PATTERN, Citation, rule_model
from payerkg.namespaces import PK

# The tables (matrix, conflicts, review) and the catalog are imported by the functions that make
# them: a one-shot `payerkg coverage` question reads none of them (6 ms of its start).
if TYPE_CHECKING:
    from payerkg.coverage.conflicts import GraphConflict
    from payerkg.coverage.matrix import Matrix
    from payerkg.editing.review import ReviewEntry
    from payerkg.graph.served import ServedGraph


def payer_for(policy: PolicyGraph, payer: str | None, state: str | None) -> str:
    """The payer a question names: a payer id, or a state's postal code for the fully insured plan
    of that state (whose answers come from the state's law layer)."""
    if state is None and payer is not None:
        return payer
    if payer is None and state is not None:
        from payerkg.graph.catalog import state_plan

        return state_plan(policy, state)
    raise InvalidParameter(
        "give the payer (an id such as medicare) or a state (such as TX), one of them", "payer"
    )


def answered_in_memory(policy: PolicyGraph) -> bool:
    """Whether answers come from a rule model read whole at start-up (a fraction of a millisecond
    each), rather than from a store read per (payer, code) when first asked: a query each on a
    large embedded store, a round trip each on a SPARQL server."""
    return policy.store.bulk_reads


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
    from payerkg.coverage.matrix import coverage_matrix

    chosen = _chosen_codes(codes, max_codes)
    return coverage_matrix(policy, day, chosen, as_of=as_of)


def _chosen_codes(codes: str | None, max_codes: int | None) -> list[str]:
    """The codes a matrix asks about: ``codes`` comma-separated, else a telehealth set."""
    from payerkg.coverage.matrix import DEFAULT_CODES

    chosen = [c.strip() for c in codes.split(",") if c.strip()] if codes else list(DEFAULT_CODES)
    if max_codes is not None and len(chosen) > max_codes:
        raise InvalidParameter(f"at most {max_codes} codes per matrix", "codes")
    return chosen


@dataclass(frozen=True)
class Group:
    """A payer group (the payer's kind, such as Medicaid) or a code family (the code's category)."""

    id: str
    label: str
    iri: str


@dataclass(frozen=True)
class ComparedPayer:
    id: str
    label: str
    group: str


@dataclass(frozen=True)
class ComparedCode:
    code: str
    label: str
    family: str
    """The id of its family; empty for a code the graph does not hold."""


@dataclass(frozen=True)
class ComparedCell:
    """One payer and code: the determination, its rules, and the question it answers."""

    determination: str
    rules: list[str]
    question: CoverageQuestion


@dataclass(frozen=True)
class Comparison:
    """The payers x codes matrix of one date, narrowed to a payer group and a code family, with
    the groups and families there are to choose from."""

    date: str
    as_of: str | None
    payers: list[ComparedPayer]
    codes: list[ComparedCode]
    cells: dict[str, dict[str, ComparedCell]]
    groups: list[Group]
    families: list[Group]
    graph_revision: str


def compare(
    policy: PolicyGraph,
    day: date,
    codes: str | None = None,
    as_of: date | None = None,
    payer_group: str | None = None,
    code_family: str | None = None,
    max_codes: int | None = None,
) -> Comparison:
    """The matrix of ``matrix`` for the payers of ``payer_group`` and the codes of
    ``code_family`` (ids from the graph: ``Medicaid``, ``TelehealthService``); InvalidParameter
    names an unknown group or family."""
    from payerkg.coverage.matrix import cell_question, coverage_matrix
    from payerkg.graph.catalog import payers

    chosen = _chosen_codes(codes, max_codes)
    model = rule_model(policy)
    label = model.terms.label
    listed = [p for p in payers(policy) if p.kind is not None and p.kind != str(PK.StateTelehealthLaw)]
    groups = _groups(label, [p.kind for p in listed if p.kind])
    if payer_group and payer_group not in {g.id for g in groups}:
        raise InvalidParameter("payer group is not one of " + ", ".join(g.id for g in groups), "group")
    compared_payers = [
        ComparedPayer(p.id, p.label, _local(p.kind or ""))
        for p in listed
        if not payer_group or _local(p.kind or "") == payer_group
    ]
    found = {c: model.code(c) if CODE_PATTERN.match(c) else None for c in chosen}
    families = _groups(label, [str(f.category) for f in found.values() if f is not None and f.category])
    if code_family and code_family not in {f.id for f in families}:
        raise InvalidParameter("code family is not one of " + ", ".join(f.id for f in families), "family")
    compared_codes = [
        ComparedCode(c, f.label if f else "", _local(str(f.category)) if f and f.category else "")
        for c, f in found.items()
    ]
    compared_codes = [c for c in compared_codes if not code_family or c.family == code_family]
    shown = [c.code for c in compared_codes]
    table = coverage_matrix(policy, day, shown, as_of, [p.id for p in compared_payers])
    cells = {
        payer: {
            code: ComparedCell(cell.determination, cell.rules, cell_question(policy, payer, code, day, as_of))
            for code, cell in row.items()
        }
        for payer, row in table.cells.items()
    }
    return Comparison(
        table.date,
        as_of.isoformat() if as_of else None,
        compared_payers,
        compared_codes,
        cells,
        groups,
        families,
        table.graph_revision,
    )


@dataclass(frozen=True)
class AnswerChange:
    """A matrix cell whose determination differs between two dates of service."""

    payer: str
    code: str
    before: str
    after: str
    question_before: CoverageQuestion
    question_after: CoverageQuestion


@dataclass(frozen=True)
class VersionEvent:
    """A rule version taking effect or ending between two dates of service."""

    version: str
    label: str
    payer: str
    event: Literal["takes effect", "ends"]
    on: str


@dataclass(frozen=True)
class DateChanges:
    """What changed between two dates of service for the compared payers and codes: the
    answers that differ, and the rule versions that take effect or end in between."""

    from_date: str
    to_date: str
    payers: list[ComparedPayer]
    codes: list[ComparedCode]
    answers: list[AnswerChange]
    versions: list[VersionEvent]
    graph_revision: str


def date_changes(
    policy: PolicyGraph,
    start: date,
    end: date,
    codes: str | None = None,
    as_of: date | None = None,
    payer_group: str | None = None,
    code_family: str | None = None,
    max_codes: int | None = None,
) -> DateChanges:
    """Compare the matrix of ``start`` with that of ``end`` (the same payers, codes and filters as
    ``compare``), and list the versions of those payers naming those codes whose effective period
    starts after ``start`` up to ``end``, or ends from ``start`` to before ``end``."""
    from payerkg.graph.catalog import rule_versions

    if end < start:
        raise InvalidParameter("the second date must not be before the first", "to_date")
    before = compare(policy, start, codes, as_of, payer_group, code_family, max_codes)
    after = compare(policy, end, codes, as_of, payer_group, code_family, max_codes)
    answers = [
        AnswerChange(p.id, c.code, old.determination, new.determination, old.question, new.question)
        for p in before.payers
        for c in before.codes
        if (old := before.cells[p.id][c.code]).determination
        != (new := after.cells[p.id][c.code]).determination
    ]
    payer_ids = {p.id for p in before.payers}
    naming = {v.iri: v for c in before.codes if c.family for v in rule_versions(policy, code=c.code)}
    first, last = start.isoformat(), end.isoformat()
    events = []
    for version in naming.values():
        if version.payer not in payer_ids or version.status == "draft":
            continue
        if first < version.effective_start <= last:
            events.append(
                VersionEvent(
                    version.id, version.label, version.payer, "takes effect", version.effective_start
                )
            )
        if version.effective_end is not None and first <= version.effective_end < last:
            events.append(
                VersionEvent(version.id, version.label, version.payer, "ends", version.effective_end)
            )
    events.sort(key=lambda e: (e.on, e.payer, e.version))
    return DateChanges(first, last, before.payers, before.codes, answers, events, policy.revision)


def payer_groups(policy: PolicyGraph) -> list[Group]:
    """Every kind of payer in the graph (state-law baselines included), by label."""
    from payerkg.graph.catalog import payers

    return _groups(rule_model(policy).terms.label, [p.kind for p in payers(policy) if p.kind])


def version_sources(policy: PolicyGraph, version: str) -> list[Citation]:
    """The citations of a rule version, with their sources and evidence levels."""
    return rule_model(policy).citations_of(URIRef(version))


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _groups(label: Callable[[URIRef], str], iris: list[str]) -> list[Group]:
    return sorted({Group(_local(i), label(URIRef(i)), i) for i in iris}, key=lambda g: g.label.lower())


def conflicts(policy: PolicyGraph, as_of: date | None = None) -> list[GraphConflict]:
    """Every conflict in the graph as known on ``as_of`` (default today), worked out once."""
    from payerkg.coverage.conflicts import conflicts_as_of

    return conflicts_as_of(policy, as_of)


def review(policy: PolicyGraph, payer: str | None = None, older_than: str | None = None) -> list[ReviewEntry]:
    """Rule versions oldest review first; ``older_than`` such as 12m, 90d or 2y."""
    from payerkg.editing.review import parse_age, rule_reviews

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
