"""Coverage answers: what a payer requires for a code on a date of service, and why.

Rule selection is SPARQL (``queries/rule-version-index.rq`` builds a (payer, code) index once per
graph revision, or ``payer-code-index.rq`` per (payer, code) when first asked of a store too big to
read whole; then versions are filtered by date of service and "as known on"); this module combines the
selected rule versions. A version speaks to a situation (its scope: modality, patient setting,
patient status, clinical purpose, rural flag). Against a question it either applies, does not
apply, or applies only if an unstated fact of the question takes a given value (a branch).
Applying versions contribute requirements, billing, documentation and limits; their
determinations combine as: not-covered beats conditional beats covered; exceptions
(``pk:overrides``) displace the rules they override; no determination at all is ``unknown``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from rdflib import Literal as RDFLiteral
from rdflib import URIRef
from rdflib.namespace import DCTERMS, SKOS
from rdflib.term import Node

from payerkg.coverage.disagreement import disagreements
from payerkg.errors import InvalidParameter
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS, SCOPED, Facet, by_name
from payerkg.graph.rules import (
    CODE_PATTERN,
    Citation,
    Code,
    Payer,
    RuleModel,
    RuleVersion,
    TermReader,
    literal_date,
    local_name,
    rule_model,
    same_value,
)
from payerkg.namespaces import PK

Determination = Literal["covered", "conditional", "not-covered", "invalid-code", "unknown"]
Status = Literal["met", "unmet", "open"]


@dataclass(frozen=True)
class CoverageQuestion:
    """A coverage question. Facets left as None are unknown to the asker."""

    payer: str
    code: str
    date_of_service: date
    modality: str | None = None
    patient_status: str | None = None
    patient_location: str | None = None
    rural: bool | None = None
    aco_assigned: bool | None = None
    practitioner_type: str | None = None
    purpose: str | None = None
    as_of: date | None = None


@dataclass
class Item:
    """An identified statement of an answer: a condition, a document, a billing line."""

    id: str
    text: str
    rule: str
    status: Status | None = None
    when: str | None = None


@dataclass(frozen=True)
class Layer:
    """Which payer's rules a rule version comes from: the asked payer's own, or a baseline it inherits."""

    rule: str
    payer: str
    inherited: bool


@dataclass
class ConflictSide:
    """What one of two disagreeing rule versions says, with its evidence and sources."""

    rule: str
    says: list[str]
    evidence_level: str
    citations: list[Citation]


@dataclass
class Conflict:
    """Two applicable rule versions that disagree on one topic."""

    topic: str
    sides: list[ConflictSide]


@dataclass
class CoverageAnswer:
    payer: str
    code: str
    date_of_service: str
    determination: Determination
    summary: str
    conditions: list[Item] = field(default_factory=list)
    billing: dict[str, list[Item]] = field(default_factory=dict)
    limits: list[Item] = field(default_factory=list)
    documentation: list[Item] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    graph_revision: str = ""
    as_of: str = ""


@dataclass
class _Outcome:
    version: RuleVersion
    open_facets: dict[str, list[Node]]
    determination: Determination | None
    conditions: list[Item]


def coverage(policy: PolicyGraph, question: CoverageQuestion, today: date | None = None) -> CoverageAnswer:
    """Answer a coverage question from the rule versions of the graph.

    >>> from payerkg.graph.dataset import load_dataset
    >>> answer = coverage(load_dataset(), CoverageQuestion("medicare", "99442", date(2025, 2, 10)))
    >>> answer.determination
    'invalid-code'
    """
    as_of = question.as_of or today or date.today()
    answers = policy.view(_AnswerCache).answers
    key = (dataclasses.replace(question, as_of=as_of), as_of)
    cached = answers.get(key)
    if cached is not None:
        return cached
    answer = _answer(policy, question, as_of)
    answers.put(key, answer)
    return answer


class _AnswerCache:
    """A revision's recent answers, and its evaluations shared by dates of service that select
    the same rule versions."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.answers = _Answers()
        self.evaluations = _Answers()


class _Answers:
    """The most recent answers of one graph revision (bounded; answers are never mutated)."""

    size = 20_000

    def __init__(self) -> None:
        self.entries: OrderedDict[Any, CoverageAnswer] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> CoverageAnswer | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: Any, answer: CoverageAnswer) -> None:
        with self.lock:
            self.entries[key] = answer
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)


def _answer(policy: PolicyGraph, question: CoverageQuestion, as_of: date) -> CoverageAnswer:
    if not CODE_PATTERN.match(question.code):
        raise InvalidParameter("code must be a CPT or HCPCS code such as 99213 or G2012", "code")
    model = rule_model(policy)
    payer = model.payer(question.payer)
    facts = _question_facts(model, question)
    answer = CoverageAnswer(
        payer=question.payer,
        code=question.code,
        date_of_service=question.date_of_service.isoformat(),
        determination="unknown",
        summary="",
        graph_revision=policy.revision,
        as_of=as_of.isoformat(),
    )
    code = model.code(question.code)
    if code is None:
        answer.summary = "The graph holds no code with this notation, so no rule answers."
        return answer
    if not code.valid_on(question.date_of_service):
        answer.determination = "invalid-code"
        answer.summary = _invalid_code_summary(code, question.date_of_service)
        answer.citations = model.citations_of(code.iri)
        return answer

    versions = model.governing(payer.iri, code.iri, question.date_of_service, as_of)
    # The date of service matters only through the versions it selects (and the notices), so
    # questions differing only in date within one set of versions share one evaluation.
    evaluations = policy.view(_AnswerCache).evaluations
    key = (payer.iri, code.iri, tuple(v.iri for v in versions), tuple(facts.items()))
    evaluated = evaluations.get(key)
    if evaluated is None:
        terms = model.terms
        outcomes = [o for o in (_evaluate(v, facts, terms) for v in versions) if o is not None]
        _combine(answer, outcomes, terms, model.floors.get(payer.iri, frozenset()))
        _attach_details(answer, outcomes, terms, payer.iri)
        _refusal_summary(answer, outcomes, terms)
        # A copy: what _add_notices gives an answer (notices, the floor's citations, the reasons for
        # an unknown) is given to each answer again; added to the shared evaluation as well, a
        # floor payer's sources were cited twice by the next date that shared it.
        evaluations.put(key, dataclasses.replace(answer, notices=[]))
    else:
        answer = dataclasses.replace(
            evaluated, date_of_service=answer.date_of_service, as_of=answer.as_of, notices=[]
        )
    _add_notices(model, answer, payer, code.iri, question.date_of_service)
    return answer


# --- question and graph look-ups -------------------------------------------------------------


def _invalid_code_summary(code: Code, day: date) -> str:
    if code.valid_through is not None and code.valid_through < day:
        deleted = code.valid_through
        return f"{code.notation} is not valid on {day}: it was deleted from its code set after {deleted}."
    return f"{code.notation} is not valid on {day}: it takes effect on {code.valid_from}."


def _question_facts(model: RuleModel, question: CoverageQuestion) -> dict[str, Node | None]:
    """What the question states of each facet, as the terms rules use (None: not stated)."""
    facts: dict[str, Node | None] = {}
    for facet in FACETS:
        given = getattr(question, facet.name)
        facts[facet.name] = None if given is None else model.vocabulary.fact(facet, given)
    return facts


# --- evaluation ------------------------------------------------------------------------------


def _evaluate(version: RuleVersion, facts: dict[str, Node | None], terms: TermReader) -> _Outcome | None:
    """Match a version's scope against the question and evaluate its requirements."""
    open_facets: dict[str, list[Node]] = {}
    for facet in SCOPED:
        scope = version.values(facet.scope)  # type: ignore[arg-type]  # SCOPED facets have one
        if not scope:
            continue
        given = facts[facet.name]
        if given is None:
            open_facets[facet.name] = scope
        elif not any(same_value(given, s) for s in scope):
            return None
    rule = str(version.iri)
    conditions: list[Item] = []
    for facet in FACETS:
        required = version.values(facet.requirement) if facet.requirement is not None else []
        if required:
            conditions.append(_requirement(facet, required, facts[facet.name], rule, terms))
    conditions.extend(
        Item(id=terms.notation(c), text=terms.definition_of(c), rule=rule, status="open")
        for c in version.values(PK.condition)
    )
    return _Outcome(version, open_facets, _determination(version, conditions), conditions)


def _requirement(
    facet: Facet, required: list[Node], given: Node | None, rule: str, terms: TermReader
) -> Item:
    status: Status | None
    if given is None:
        # Unstated: open, unless the facet reads silence as met (the answer lists who qualifies).
        status = None if facet.unstated_is_met else "open"
    else:
        status = "met" if any(same_value(given, r) for r in required) else "unmet"
    return Item(id=facet.id, text=f"{facet.words} must be {terms.words(required)}", rule=rule, status=status)


def _determination(version: RuleVersion, conditions: list[Item]) -> Determination | None:
    explicit = version.value(PK.determination)
    recognized = version.value(PK.recognized)
    if explicit == PK.NotCovered or (isinstance(recognized, RDFLiteral) and not recognized.toPython()):
        return "not-covered"
    if any(c.status == "unmet" for c in conditions):
        return "not-covered"
    if any(c.status == "open" for c in conditions):
        return "conditional"
    return "covered" if explicit == PK.Covered else None


def _combine(
    answer: CoverageAnswer, outcomes: list[_Outcome], terms: TermReader, floor: frozenset[URIRef]
) -> None:
    applying = [o for o in outcomes if not o.open_facets]
    branches = [o for o in outcomes if o.open_facets]
    overridden = {r for o in applying for r in o.version.values(PK.overrides)}
    applying = [o for o in applying if o.version.rule not in overridden]
    branches = [o for o in branches if o.version.rule not in overridden]
    has_determination = any(o.version.value(PK.determination) is not None for o in outcomes)
    found = [o.determination for o in applying if o.determination]

    answer.conflicts = _conflicts(applying, terms)
    if "not-covered" in found:
        refusing = {o.version.rule for o in applying if o.determination == "not-covered"}
        rescues = [
            o
            for o in branches
            if o.determination in ("covered", "conditional")
            and refusing <= set(o.version.values(PK.overrides))
        ]
        refusing_payers = {o.version.value(PK.payer) for o in applying if o.determination == "not-covered"}
        if rescues:
            answer.determination = "conditional"
            _add_branch_conditions(answer, rescues, terms)
        elif refusing_payers <= floor:
            # Only the floor refuses: whether the plan covers more is in its contract, not the graph.
            answer.determination = "unknown"
            answer.conditions.append(
                Item(
                    id="plan-benefit",
                    text=(
                        f"{' and '.join(sorted(terms.label(p) for p in refusing_payers if p is not None))} "
                        "does not cover this situation; this payer may cover it as a supplemental "
                        "benefit of its own, which only the plan's contract says"
                    ),
                    rule="",
                    status="open",
                )
            )
        else:
            answer.determination = "not-covered"
    else:
        # Branches matter when they would change the answer; exceptions only ever widen it.
        differing = [
            o
            for o in branches
            if not o.version.values(PK.overrides)
            and (o.determination in ("not-covered", "conditional") or (not found and o.determination))
        ]
        if differing:
            answer.determination = "conditional"
            _add_branch_conditions(answer, differing, terms)
        elif "conditional" in found:
            answer.determination = "conditional"
        elif "covered" in found:
            answer.determination = "covered"
        else:
            answer.determination = "unknown"
    billing_only = all(c.topic != "determination" for c in answer.conflicts)
    if answer.conflicts and not (answer.determination == "not-covered" and billing_only):
        # Sources disagree: say so, and never present either side as settled (how to bill a
        # service that is not covered is moot).
        answer.determination = "conditional" if answer.determination != "unknown" else "unknown"
        topics = ", ".join(sorted({c.topic for c in answer.conflicts}))
        answer.conditions.append(
            Item(
                id="sources-disagree",
                text=f"Active rules disagree on {topics}; confirm with the payer which one applies.",
                rule="",
                status="open",
            )
        )
    if not has_determination:
        answer.determination = "unknown"
    for o in applying:
        answer.conditions.extend(o.conditions)
    answer.summary = _summary(answer)


def _conflicts(applying: list[_Outcome], terms: TermReader) -> list[Conflict]:
    """Pairs of applying versions that say incompatible things (two versions of one rule too)."""
    found = []
    for i, first in enumerate(applying):
        for second in applying[i + 1 :]:
            for disagreement in disagreements(first.version.values, second.version.values):
                sides = [
                    _side(first, disagreement.first_says, terms),
                    _side(second, disagreement.second_says, terms),
                ]
                found.append(Conflict(disagreement.topic, sides))
    return found


def _side(outcome: _Outcome, says: tuple[Node, ...], terms: TermReader) -> ConflictSide:
    level = outcome.version.value(PK.evidenceLevel)
    return ConflictSide(
        rule=str(outcome.version.iri),
        says=[terms.notation(v) for v in says],
        evidence_level=terms.notation(level) if level is not None else "",
        citations=terms.citations(outcome.version),
    )


def _add_branch_conditions(answer: CoverageAnswer, branches: list[_Outcome], terms: TermReader) -> None:
    for o in branches:
        when = _when(o.open_facets, terms)
        outcome = o.determination or "covered"
        answer.conditions.append(
            Item(
                id="branch",
                text=f"{terms.label(o.version.iri)}: {outcome}",
                rule=str(o.version.iri),
                status="open",
                when=when,
            )
        )
        for c in o.conditions:
            answer.conditions.append(Item(c.id, c.text, c.rule, c.status, when))


def _summary(answer: CoverageAnswer) -> str:
    return {
        "covered": "Covered in the situation described.",
        "conditional": "Covered only if the listed open conditions hold.",
        "not-covered": "Not covered: see the unmet conditions.",
        "unknown": "Unknown: the graph holds no rule that answers this question.",
        "invalid-code": "The code is not valid on the date of service.",
    }[answer.determination]


# --- details: billing, documentation, limits, citations --------------------------------------

BILLING_PROPERTIES = {
    "place_of_service_required": PK.requiresPlaceOfService,
    "place_of_service_forbidden": PK.forbidsPlaceOfService,
    "modifiers_required_one_of": PK.requiresModifier,
    "modifiers_allowed": PK.allowsModifier,
    "modifiers_forbidden": PK.forbidsModifier,
    "rate_basis": PK.rateBasis,
    "bill_instead": PK.billInstead,
}
LIMIT_PROPERTIES = {
    "minimum-minutes": (PK.minimumMinutes, "at least {} minutes"),
    "maximum-minutes": (PK.maximumMinutes, "at most {} minutes"),
    "minimum-data-days": (PK.minimumDataDays, "at least {} days of device data in the period"),
    "maximum-data-days": (PK.maximumDataDays, "at most {} days of device data in the period"),
    "not-billable-with": (PK.notBillableWith, "not billed with {} in the same period"),
    "frequency": (PK.frequencyLimit, "{}"),
}


def _attach_details(
    answer: CoverageAnswer, outcomes: list[_Outcome], terms: TermReader, asked: URIRef
) -> None:
    if answer.determination == "invalid-code":
        return
    used: list[_Outcome] = [o for o in outcomes if not o.open_facets or _mentioned(answer, o)]
    for o in used:
        rule = str(o.version.iri)
        when = _when(o.open_facets, terms) or None
        for key, prop in BILLING_PROPERTIES.items():
            for value in o.version.values(prop):
                answer.billing.setdefault(key, []).append(
                    Item(id=terms.notation(value), text=terms.label(value), rule=rule, when=when)
                )
        for key, (prop, template) in LIMIT_PROPERTIES.items():
            for value in o.version.values(prop):
                shown = terms.notation(value) if isinstance(value, URIRef) else str(value)
                answer.limits.append(Item(id=key, text=template.format(shown), rule=rule, when=when))
        for document in o.version.values(PK.requiresDocumentation):
            answer.documentation.append(
                Item(id=terms.notation(document), text=terms.definition_of(document), rule=rule, when=when)
            )
        answer.rules.append(rule)
        answer.citations.extend(terms.citations(o.version))
        payer = o.version.value(PK.payer)
        # The asked payer's notation is the id it was asked by (a payer has one, pks:PayerShape):
        # reading its statements again was a query, on a remote store a round trip, per question.
        layer = answer.payer if payer == asked else terms.notation(payer) if payer is not None else ""
        answer.layers.append(Layer(rule, layer, inherited=layer != answer.payer))
    answer.rules = sorted(set(answer.rules))
    answer.layers = sorted(set(answer.layers), key=lambda layer: layer.rule)


def _refusal_summary(answer: CoverageAnswer, outcomes: list[_Outcome], terms: TermReader) -> None:
    """A refused code names itself and what to bill instead, e.g. "98005 is not payable by
    Medicare (status I); bill instead: office/outpatient E/M (99202-99215)"."""
    if answer.determination != "not-covered":
        return
    for o in outcomes:
        instead = o.version.values(PK.billInstead)
        if o.open_facets or o.determination != "not-covered" or not instead:
            continue
        payer = o.version.value(PK.payer)
        status = o.version.value(PK.statusIndicator)
        why = f" (status {status})" if status is not None else ""
        alternatives = "; ".join(f"{terms.label(g)} ({_code_range(g, terms)})" for g in instead)
        answer.summary = (
            f"{answer.code} is not payable by {terms.label(payer) if payer is not None else answer.payer}"
            f"{why}; bill instead: {alternatives}."
        )
        return


def _code_range(group: Node, terms: TermReader) -> str:
    """The notations of a group's codes as ranges of consecutive numbers: "99202-99205, 99211-99215"."""
    notations = sorted(terms.notation(m) for m in terms.statements(group).get(SKOS.member, [group]))
    runs: list[list[str]] = []
    for notation in notations:
        previous = runs[-1][-1] if runs else None
        if previous is not None and _next_code(previous) == notation:
            runs[-1].append(notation)
        else:
            runs.append([notation])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _next_code(notation: str) -> str | None:
    digits = notation.rstrip("0123456789")
    number = notation[len(digits) :]
    if not number:
        return None
    return f"{digits}{int(number) + 1:0{len(number)}d}"


def _mentioned(answer: CoverageAnswer, outcome: _Outcome) -> bool:
    """A branch is shown when it became a condition, or when it bills differently (not an exception)."""
    if any(c.rule == str(outcome.version.iri) for c in answer.conditions):
        return True
    is_exception = bool(outcome.version.values(PK.overrides))
    return not is_exception and bool(set(outcome.version.statements) & set(BILLING_PROPERTIES.values()))


# A rule last checked against its sources more than this before the date of service may have changed.
REVIEW_HORIZON = timedelta(days=365)


def _add_notices(model: RuleModel, answer: CoverageAnswer, payer: Payer, code: URIRef, day: date) -> None:
    answer.notices.extend(_freshness_notices(model.terms, answer.rules, day))
    floor = model.floors.get(payer.iri)
    if floor:
        # The floor itself is a rule of law: cite where the payer's inheritance is stated.
        answer.citations = answer.citations + _payer_citations(model.terms, payer.iri)
        if answer.determination == "unknown":
            answer.summary = "Unknown: the coverage floor does not settle this; the plan's contract decides."
        answer.notices.append(
            "This payer inherits only the coverage floor of "
            + " and ".join(sorted(model.terms.label(b) for b in floor))
            + ": place of service, modifiers, payment rate and benefits beyond the floor are set by the "
            "plan's own contract, which the graph does not hold."
        )
    if answer.determination == "unknown":
        _unknown_reasons(model, answer, payer)
    last, current_to = model.horizon_reached(payer.iri, code, day), payer.sources_current_to
    if last is not None:
        answer.notices.append(
            f"The date of service is on or after {last}, the last change in this payer's rules that the "
            f"graph knows; the answer applies the law as known"
            + (f" from sources current to {current_to}" if current_to else "")
            + " and may be outdated."
        )


def _unknown_reasons(model: RuleModel, answer: CoverageAnswer, payer: Payer) -> None:
    """An unknown answer says why when the payer or a baseline it inherits states a reason
    (``pk:unknownReason``: no such law, or one research could not establish), citing the sources
    that payer names."""
    stating = [
        (baseline, reasons)
        for baseline in model.baselines.get(payer.iri, [payer.iri])
        if (reasons := model.terms.statements(baseline).get(PK.unknownReason))
    ]
    if not stating:
        return
    answer.summary = "Unknown: " + " ".join(str(r) for _, reasons in stating for r in reasons)
    seen = {(c.source, c.rule) for c in answer.citations}
    added = [
        c
        for baseline, _ in stating
        for c in _payer_citations(model.terms, baseline)
        if (c.source, c.rule) not in seen
    ]
    answer.citations = answer.citations + added


def _when(open_facets: dict[str, list[Node]], terms: TermReader) -> str:
    """The unstated facts a branch holds under, in words."""
    return " and ".join(f"{by_name(f).words} is {terms.words(v)}" for f, v in open_facets.items())


def _payer_citations(terms: TermReader, payer: URIRef) -> list[Citation]:
    """The sources a payer's own description cites (what it inherits and why)."""
    return [
        terms.citation(source, str(payer), rule_level="")
        for source in terms.statements(payer).get(DCTERMS.source, [])
    ]


def _freshness_notices(terms: TermReader, rules: list[str], day: date) -> list[str]:
    """Say when an answer rests on a rule not reviewed within a year of the date of service, on an
    open-ended rule its sources confirm only up to an earlier date, or on secondary sources only."""
    notices, secondary = [], []
    for rule in rules:
        statements = terms.statements(URIRef(rule))
        name = local_name(rule)
        reviewed = literal_date(statements.get(PK.reviewedOn, [None])[0])
        if reviewed is not None and reviewed + REVIEW_HORIZON < day:
            notices.append(
                f"Rule {name} was last reviewed against its sources on {reviewed}, more than 12 months "
                "before the date of service; it may have changed since."
            )
        confirmed = literal_date(statements.get(PK.lastConfirmed, [None])[0])
        if confirmed is not None and confirmed < day:
            notices.append(
                f"Rule {name} is confirmed by its sources only up to {confirmed}; "
                "it may have changed by the date of service."
            )
        if statements.get(PK.evidenceLevel) == [PK.SecondaryOnly]:
            secondary.append(name)
    if secondary:
        notices.append(f"Resting on secondary sources only (no primary source seen): {', '.join(secondary)}.")
    return notices


# --- small helpers ---------------------------------------------------------------------------
