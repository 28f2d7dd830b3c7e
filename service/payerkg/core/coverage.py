"""Coverage answers: what a payer requires for a code on a date of service, and why.

Rule selection is SPARQL (``queries/rule-version-index.rq`` builds a (payer, code) index once per
graph revision, then versions are filtered by date of service and "as known on"); this module combines the
selected rule versions. A version speaks to a situation (its scope: modality, patient setting,
patient status, clinical purpose, rural flag). Against a question it either applies, does not
apply, or applies only if an unstated fact of the question takes a given value (a branch).
Applying versions contribute requirements, billing, documentation and limits; their
determinations combine as: not-covered beats conditional beats covered; exceptions
(``pk:overrides``) displace the rules they override; no determination at all is ``unknown``.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from rdflib import Literal as RDFLiteral
from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Identifier, Node

from payerkg.core.dataset import PolicyGraph
from payerkg.core.disagreement import disagreements
from payerkg.core.queries import Row
from payerkg.errors import InvalidParameter, UnknownPayer
from payerkg.namespaces import PK

Determination = Literal["covered", "conditional", "not-covered", "invalid-code", "unknown"]
Status = Literal["met", "unmet", "open"]

CODE_PATTERN = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
PAYER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

# Question facet -> (scope property, requirement property, vocabulary class)
FACETS: dict[str, tuple[URIRef, URIRef | None, URIRef | None]] = {
    "modality": (PK.forModality, PK.requiresModality, PK.Modality),
    "patient_status": (PK.forPatientStatus, PK.requiresPatientStatus, PK.PatientStatus),
    "patient_location": (PK.forPatientSetting, PK.requiresPatientSetting, PK.PatientSetting),
    "purpose": (PK.forPurpose, None, PK.ClinicalPurpose),
    "rural": (PK.forRuralLocation, PK.requiresRuralLocation, None),
    "aco_assigned": (PK.forAcoAssignment, None, None),
}
FACET_WORDS = {
    "modality": "modality",
    "patient_status": "patient status",
    "patient_location": "patient location",
    "purpose": "clinical purpose",
    "rural": "rural location",
    "aco_assigned": "assignment to a Shared Savings Program ACO",
    "practitioner_type": "practitioner type",
}


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


@dataclass
class Citation:
    """A source a statement rests on. ``evidence_level`` is the source's own authority (primary,
    secondary quoting primary text, secondary); ``rule_evidence_level`` is the cited rule version's."""

    source: str
    title: str
    url: str
    accessed: str
    evidence_level: str
    rule_evidence_level: str
    rule: str
    published: str | None = None
    section: str | None = None
    quote: str | None = None


@dataclass(frozen=True)
class Layer:
    """Which payer's rules a rule version comes from: the asked payer's own, or a baseline it inherits."""

    rule: str
    payer: str
    inherited: bool


@dataclass
class Conflict:
    """Two applicable rule versions of different rules that disagree on one topic."""

    topic: str
    sides: list[dict[str, Any]]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Version:
    """One selected rule version with its statements."""

    iri: URIRef
    statements: dict[URIRef, list[Node]]

    def values(self, prop: URIRef) -> list[Node]:
        return self.statements.get(prop, [])

    def value(self, prop: URIRef) -> Node | None:
        found = self.statements.get(prop)
        return found[0] if found else None

    @property
    def rule(self) -> Node | None:
        return self.value(PK.versionOf)


@dataclass
class _Outcome:
    version: _Version
    open_facets: dict[str, list[Node]]
    determination: Determination | None
    conditions: list[Item]


class _Vocabulary:
    """Notation <-> IRI maps of the controlled values, read from the graph."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.by_class: dict[URIRef, dict[str, URIRef]] = {}
        classes = [c for _, _, c in FACETS.values() if c is not None] + [PK.PractitionerType]
        for cls in classes:
            rows = _select_once(policy, "controlled-values", **{"class": cls})
            self.by_class[cls] = {str(r["notation"]): r["value"] for r in rows}

    def iri(self, cls: URIRef, notation: str, facet: str) -> URIRef:
        try:
            return self.by_class[cls][notation]
        except KeyError:
            allowed = ", ".join(sorted(self.by_class[cls]))
            raise InvalidParameter(
                f"{FACET_WORDS[facet]} is not one of the known values ({allowed})", pointer=facet
            ) from None


def _select_once(policy: PolicyGraph, name: str, **bindings: Identifier) -> list[Row]:
    """Rows of a named query, run once per graph revision and binding (the graph never changes
    under a revision; a new revision is a new PolicyGraph with an empty memo)."""
    cache: dict[tuple[str, frozenset[tuple[str, Identifier]]], list[Row]] = policy.memo(
        "coverage.select", dict
    )
    key = (name, frozenset(bindings.items()))
    if key not in cache:
        cache[key] = policy.select(name, **bindings)
    return cache[key]


def _vocabulary(policy: PolicyGraph) -> _Vocabulary:
    return policy.memo("coverage.vocabulary", lambda: _Vocabulary(policy))


def _terms(policy: PolicyGraph) -> _TermReader:
    """The term reader of a revision, filled first with everything rule versions say: blank-node
    citations can only be read together with their subjects (a query cannot name them later)."""

    def build() -> _TermReader:
        reader = _TermReader(policy)
        if policy.store.bulk_reads:
            reader.preload(policy.select("rule-statements"))
        return reader

    return policy.memo("coverage.terms", build)


def coverage(policy: PolicyGraph, question: CoverageQuestion, today: date | None = None) -> CoverageAnswer:
    """Answer a coverage question from the rule versions of the graph.

    >>> from payerkg.core.dataset import load_dataset
    >>> answer = coverage(load_dataset(), CoverageQuestion("medicare", "99442", date(2025, 2, 10)))
    >>> answer.determination
    'invalid-code'
    """
    as_of = question.as_of or today or date.today()
    answers: _Answers = policy.memo("coverage.answers", _Answers)
    key = (dataclasses.replace(question, as_of=as_of), as_of)
    cached = answers.get(key)
    if cached is not None:
        return cached
    answer = _answer(policy, question, as_of)
    answers.put(key, answer)
    return answer


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
    payer_iri, sources_current_to = resolve_payer(policy, question.payer)
    facts = _question_facts(policy, question)
    answer = CoverageAnswer(
        payer=question.payer,
        code=question.code,
        date_of_service=question.date_of_service.isoformat(),
        determination="unknown",
        summary="",
        graph_revision=policy.revision,
        as_of=as_of.isoformat(),
    )
    code_row = find_code(policy, question.code)
    if code_row is None:
        answer.summary = "The graph holds no code with this notation, so no rule answers."
        return answer
    code_iri = code_row["code"]
    if not valid_on(code_row, question.date_of_service):
        answer.determination = "invalid-code"
        answer.summary = _invalid_code_summary(code_row, question)
        answer.citations = citations_of(policy, code_iri)
        return answer

    versions = _select_versions(policy, payer_iri, code_iri, question.date_of_service, as_of)
    # The date of service matters only through the versions it selects (and the notices), so
    # questions differing only in date within one set of versions share one evaluation.
    evaluations: _Answers = policy.memo("coverage.evaluations", _Answers)
    key = (payer_iri, code_iri, tuple(v.iri for v in versions), tuple(facts.items()))
    evaluated = evaluations.get(key)
    if evaluated is None:
        terms = _terms(policy)
        outcomes = [o for o in (_evaluate(v, facts, terms) for v in versions) if o is not None]
        _combine(answer, outcomes, terms, coverage_floors(policy).get(payer_iri, frozenset()))
        _attach_details(answer, outcomes, terms)
        _refusal_summary(answer, outcomes, terms)
        evaluations.put(key, answer)
    else:
        answer = dataclasses.replace(
            evaluated, date_of_service=answer.date_of_service, as_of=answer.as_of, notices=[]
        )
    _add_notices(policy, answer, payer_iri, question.date_of_service, sources_current_to)
    return answer


# --- question and graph look-ups -------------------------------------------------------------


def resolve_payer(policy: PolicyGraph, payer_id: str) -> tuple[URIRef, date | None]:
    """The payer's IRI and the date its sources are current to; UnknownPayer if absent."""
    found: dict[str, tuple[URIRef, date | None]] = policy.memo("coverage.payers", dict)
    if payer_id in found:
        return found[payer_id]
    if not PAYER_PATTERN.match(payer_id):
        raise InvalidParameter("payer must be a short payer id such as medicare", "payer")
    rows = _select_once(policy, "payer-by-id", id=RDFLiteral(payer_id))
    if not rows:
        raise UnknownPayer("no payer with this id is in the graph", "payer")
    current = rows[0].get("sourcesCurrentTo")
    found[payer_id] = (rows[0]["payer"], (current.toPython() if current is not None else None))
    return found[payer_id]


def find_code(policy: PolicyGraph, notation: str) -> Row | None:
    """The code with this notation and its validity dates, or None if the graph has none."""
    found: dict[str, Row | None] = policy.memo("coverage.codes", dict)
    if notation not in found:
        rows = _select_once(policy, "code-by-notation", notation=RDFLiteral(notation))
        found[notation] = rows[0] if rows else None
    return found[notation]


def valid_on(code_row: Row, day: date) -> bool:
    """Whether the code is valid in its code system on ``day``."""
    start, end = code_row.get("validFrom"), code_row.get("validThrough")
    return (start is None or start.toPython() <= day) and (end is None or end.toPython() >= day)


def _invalid_code_summary(code_row: Row, question: CoverageQuestion) -> str:
    day, end = question.date_of_service, code_row.get("validThrough")
    if end is not None and end.toPython() < day:
        return f"{question.code} is not valid on {day}: it was deleted from its code set after {end}."
    return f"{question.code} is not valid on {day}: it takes effect on {code_row.get('validFrom')}."


def _question_facts(policy: PolicyGraph, question: CoverageQuestion) -> dict[str, Node | None]:
    vocabulary = _vocabulary(policy)
    facts: dict[str, Node | None] = {}
    for facet, (_, _, cls) in FACETS.items():
        raw = getattr(question, facet)
        if raw is None:
            facts[facet] = None
        elif cls is None:
            facts[facet] = RDFLiteral(bool(raw))
        else:
            facts[facet] = vocabulary.iri(cls, str(raw), facet)
    facts["practitioner_type"] = (
        vocabulary.iri(PK.PractitionerType, question.practitioner_type, "practitioner_type")
        if question.practitioner_type
        else None
    )
    return facts


@dataclass(frozen=True)
class Candidate:
    """A rule version that may govern a payer's code, with the dates that decide when."""

    iri: URIRef
    start: date
    end: date | None
    known: date | None
    revised_on: tuple[date, ...]

    def governs(self, day: date, as_of: date) -> bool:
        """In force on the date of service, as known on ``as_of`` (not yet revised by then)."""
        return self.start <= day and (self.end is None or day <= self.end) and self.current(as_of)

    def current(self, as_of: date) -> bool:
        """Known on ``as_of`` and not yet revised by then."""
        return (self.known is None or self.known <= as_of) and not any(r <= as_of for r in self.revised_on)


def candidate_versions(policy: PolicyGraph, payer: URIRef, code: URIRef) -> list[Candidate]:
    """The rule versions that may govern a payer's code: its own and its baselines'."""
    index = _version_index(policy)
    found = [c for baseline in index.baselines.get(payer, [payer]) for c in index.candidates(baseline, code)]
    return sorted(found, key=lambda c: str(c.iri))


@dataclass
class _VersionIndex:
    """Candidate versions by (payer, code): all read at once from a local store, or read per
    (payer, code) when first asked from a remote one (whose graph may be too big to read whole)."""

    policy: PolicyGraph
    by_payer_code: dict[tuple[URIRef, URIRef], list[Candidate]]
    baselines: dict[URIRef, list[URIRef]]
    # Payer -> the baselines whose rules are only its coverage floor (pk:inheritsCoverageFloorFrom).
    floors: dict[URIRef, frozenset[URIRef]]
    complete: bool

    def candidates(self, payer: URIRef, code: URIRef) -> list[Candidate]:
        key = (payer, code)
        if not self.complete and key not in self.by_payer_code:
            rows = self.policy.select("rule-version-index", payer=payer, code=code)
            # Their statements now too: answers read them next, and one read beats one per version.
            _terms(self.policy).preload(self.policy.select("rule-version-statements", payer=payer, code=code))
            self.by_payer_code[key] = _candidates(rows, revised_on(self.policy)).get(key, [])
        return self.by_payer_code.get(key, [])


def _candidates(
    rows: list[Row], revised: dict[URIRef, tuple[date, ...]]
) -> dict[tuple[URIRef, URIRef], list[Candidate]]:
    """Rows of rule-version-index.rq as candidates by (payer, code)."""
    dates: dict[URIRef, tuple[date, date | None, date | None]] = {}
    keys: dict[URIRef, set[tuple[URIRef, URIRef]]] = defaultdict(set)
    for row in rows:
        version = row["version"]
        dates[version] = (
            row["start"].toPython(),
            row["end"].toPython() if row.get("end") is not None else None,
            row["known"].toPython() if row.get("known") is not None else None,
        )
        keys[version].add((row["payer"], row["code"]))
    by_payer_code: dict[tuple[URIRef, URIRef], list[Candidate]] = defaultdict(list)
    for version, version_keys in keys.items():
        candidate = Candidate(version, *dates[version], revised_on=revised.get(version, ()))
        for key in version_keys:
            by_payer_code[key].append(candidate)
    return dict(by_payer_code)


def revised_on(policy: PolicyGraph) -> dict[URIRef, tuple[date, ...]]:
    """For each revised rule version, the days active revisions of it became known (sorted)."""

    def build() -> dict[URIRef, tuple[date, ...]]:
        found: dict[URIRef, set[date]] = defaultdict(set)
        for row in policy.select("rule-revisions"):
            found[row["version"]].add(row["revisedOn"].toPython())
        return {version: tuple(sorted(days)) for version, days in found.items()}

    return policy.memo("coverage.revised-on", build)


def _version_index(policy: PolicyGraph) -> _VersionIndex:
    """Built once per graph revision."""

    def build() -> _VersionIndex:
        complete = policy.store.bulk_reads
        by_payer_code = (
            _candidates(policy.select("rule-version-index"), revised_on(policy)) if complete else {}
        )
        baselines: dict[URIRef, list[URIRef]] = defaultdict(list)
        for row in policy.select("payer-baselines"):
            baselines[row["payer"]].append(row["baseline"])
        floors: dict[URIRef, set[URIRef]] = defaultdict(set)
        for row in policy.select("payer-floor-baselines"):
            floors[row["payer"]].add(row["baseline"])
        return _VersionIndex(
            policy,
            by_payer_code,
            dict(baselines),
            {payer: frozenset(found) for payer, found in floors.items()},
            complete,
        )

    return policy.memo("coverage.version-index", build)


def warm_up(policy: PolicyGraph) -> None:
    """Read what answers need up front (index, vocabularies, rule statements), so that no request
    pays for it; the service calls this once at start-up."""
    _version_index(policy)
    _vocabulary(policy)
    _terms(policy)


def _select_versions(
    policy: PolicyGraph, payer: URIRef, code: URIRef, day: date, as_of: date
) -> list[_Version]:
    terms = _terms(policy)
    floor = coverage_floors(policy).get(payer, frozenset())
    versions = [
        _Version(c.iri, terms.statements(c.iri))
        for c in candidate_versions(policy, payer, code)
        if c.governs(day, as_of)
    ]
    # A coverage floor passes on what is covered, never how the baseline's claims are billed or
    # which codes it recognizes: those are the plan's contract.
    return [v for v in versions if not (v.value(PK.payer) in floor and claim_mechanics(policy, v.rule))]


CLAIM_MECHANICS = frozenset({PK.BillingRule, PK.RecognitionRule})


def claim_mechanics(policy: PolicyGraph, rule: Node | None) -> bool:
    """Billing and recognition rules: how a payer's own claims work, never part of a coverage floor."""
    return isinstance(rule, URIRef) and bool(
        CLAIM_MECHANICS & set(_terms(policy).statements(rule).get(RDF.type, []))
    )


def coverage_floors(policy: PolicyGraph) -> dict[URIRef, frozenset[URIRef]]:
    """Payer -> the baselines whose rules are only its coverage floor (pk:inheritsCoverageFloorFrom)."""
    return _version_index(policy).floors


# --- evaluation ------------------------------------------------------------------------------


def _evaluate(version: _Version, facts: dict[str, Node | None], terms: _TermReader) -> _Outcome | None:
    """Match a version's scope against the question and evaluate its requirements."""
    open_facets: dict[str, list[Node]] = {}
    for facet, (scope_prop, _, _) in FACETS.items():
        scope = version.values(scope_prop)
        if not scope:
            continue
        given = facts[facet]
        if given is None:
            open_facets[facet] = scope
        elif not any(_same(given, s) for s in scope):
            return None
    rule = str(version.iri)
    conditions: list[Item] = []
    for facet, (_, requirement_prop, _) in FACETS.items():
        if requirement_prop is None:
            continue
        required = version.values(requirement_prop)
        if required:
            conditions.append(_requirement(facet, required, facts[facet], rule, terms))
    eligible = version.values(PK.eligiblePractitionerType)
    if eligible:
        item = _requirement("practitioner_type", eligible, facts["practitioner_type"], rule, terms)
        # An unstated practitioner is read as an eligible one; the answer lists who is eligible.
        if item.status == "open":
            item.status = None
        conditions.append(item)
    conditions.extend(
        Item(id=terms.notation(c), text=terms.definition_of(c), rule=rule, status="open")
        for c in version.values(PK.condition)
    )
    return _Outcome(version, open_facets, _determination(version, conditions), conditions)


def _requirement(facet: str, required: list[Node], given: Node | None, rule: str, terms: _TermReader) -> Item:
    if given is None:
        status: Status = "open"
    else:
        status = "met" if any(_same(given, r) for r in required) else "unmet"
    return Item(
        id=f"{facet.replace('_', '-')}",
        text=f"{FACET_WORDS[facet]} must be {terms.words(required)}",
        rule=rule,
        status=status,
    )


def _determination(version: _Version, conditions: list[Item]) -> Determination | None:
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
    answer: CoverageAnswer, outcomes: list[_Outcome], terms: _TermReader, floor: frozenset[URIRef]
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


def _conflicts(applying: list[_Outcome], terms: _TermReader) -> list[Conflict]:
    """Pairs of applying versions of different rules that say incompatible things."""
    found = []
    for i, first in enumerate(applying):
        for second in applying[i + 1 :]:
            if first.version.rule == second.version.rule:
                continue
            for disagreement in disagreements(first.version.values, second.version.values):
                sides = [
                    _side(first, disagreement.first_says, terms),
                    _side(second, disagreement.second_says, terms),
                ]
                found.append(Conflict(disagreement.topic, sides))
    return found


def _side(outcome: _Outcome, says: tuple[Node, ...], terms: _TermReader) -> dict[str, Any]:
    level = outcome.version.value(PK.evidenceLevel)
    return {
        "rule": str(outcome.version.iri),
        "says": [terms.notation(v) for v in says],
        "evidence_level": terms.notation(level) if level is not None else "",
        "citations": [asdict(c) for c in terms.citations(outcome.version)],
    }


def _add_branch_conditions(answer: CoverageAnswer, branches: list[_Outcome], terms: _TermReader) -> None:
    for o in branches:
        when = terms.when(o.open_facets)
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


def _attach_details(answer: CoverageAnswer, outcomes: list[_Outcome], terms: _TermReader) -> None:
    if answer.determination == "invalid-code":
        return
    used: list[_Outcome] = [o for o in outcomes if not o.open_facets or _mentioned(answer, o)]
    for o in used:
        rule = str(o.version.iri)
        when = terms.when(o.open_facets) or None
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
        layer = terms.notation(payer) if payer is not None else ""
        answer.layers.append(Layer(rule, layer, inherited=layer != answer.payer))
    answer.rules = sorted(set(answer.rules))
    answer.layers = sorted(set(answer.layers), key=lambda layer: layer.rule)


def _refusal_summary(answer: CoverageAnswer, outcomes: list[_Outcome], terms: _TermReader) -> None:
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


def _code_range(group: Node, terms: _TermReader) -> str:
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


class _TermReader:
    """Reads labels, notations, definitions and citations of terms, once each."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.policy = policy
        self.cache: dict[Node, dict[URIRef, list[Node]]] = {}
        self.citation_cache: dict[Node, list[Citation]] = {}

    def preload(self, rows: list[Row]) -> None:
        """Fill the cache from (s, p, o) rows: one bulk query, or one term with its citations."""
        found: dict[Node, dict[URIRef, list[Node]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            found[row["s"]][row["p"]].append(row["o"])
        for term, statements in found.items():
            self.cache[term] = self.ordered(statements)

    def statements(self, term: Node) -> dict[URIRef, list[Node]]:
        # The graph of one revision never changes, so what was read once stays true.
        if term not in self.cache:
            # A blank node is never asked for here: it came with its subject's read.
            assert isinstance(term, URIRef), "citations are read with the version that carries them"
            self.preload(self.policy.select("term-statements-with-citations", term=term))
            self.cache.setdefault(term, {})
        return self.cache[term]

    @staticmethod
    def ordered(found: dict[URIRef, list[Node]]) -> dict[URIRef, list[Node]]:
        """Values sorted, so that answers list things in the same order on every run."""
        return {p: sorted(v, key=lambda n: (type(n).__name__, str(n))) for p, v in found.items()}

    def first(self, term: Node, prop: URIRef) -> str | None:
        values = self.statements(term).get(prop)
        return str(values[0]) if values else None

    def label(self, term: Node) -> str:
        return self.first(term, RDFS.label) or _local(term)

    def notation(self, term: Node) -> str:
        return self.first(term, SKOS.notation) or _local(term)

    def definition_of(self, term: Node) -> str:
        return self.first(term, SKOS.definition) or self.label(term)

    def words(self, values: Iterable[Node]) -> str:
        shown = [
            ("yes" if v.toPython() else "no") if isinstance(v, RDFLiteral) else self.label(v) for v in values
        ]
        return " or ".join(sorted(shown))

    def when(self, open_facets: dict[str, list[Node]]) -> str:
        return " and ".join(f"{FACET_WORDS[f]} is {self.words(v)}" for f, v in open_facets.items())

    def citations(self, version: _Version) -> list[Citation]:
        if version.iri not in self.citation_cache:
            self.citation_cache[version.iri] = self.read_citations(version)
        return list(self.citation_cache[version.iri])

    def read_citations(self, version: _Version) -> list[Citation]:
        level = version.value(PK.evidenceLevel)
        found = []
        for node in version.values(PK.citation):
            source = self.statements(node).get(PK.source, [None])[0]
            if source is None:
                continue
            found.append(
                self.citation(
                    source,
                    str(version.iri),
                    self.notation(level) if level is not None else "",
                    section=self.first(node, PK.section),
                    quote=self.first(node, PK.quote),
                )
            )
        # By content: blank-node labels differ between stores and loads.
        return sorted(found, key=lambda c: (c.source, c.section or "", c.quote or ""))

    def citation(
        self, source: Node, rule: str, rule_level: str, section: str | None = None, quote: str | None = None
    ) -> Citation:
        """A source as cited by ``rule``: its title, address, dates and its own evidence level."""
        return Citation(
            source=str(source),
            title=self.first(source, DCTERMS.title) or "",
            url=self.first(source, PK.url) or "",
            accessed=self.first(source, PK.accessed) or "",
            evidence_level=self.notation_of_value(source, PK.sourceKind),
            rule_evidence_level=rule_level,
            rule=rule,
            published=self.first(source, DCTERMS.date),
            section=section,
            quote=quote,
        )

    def notation_of_value(self, term: Node, prop: URIRef) -> str:
        values = self.statements(term).get(prop)
        return self.notation(values[0]) if values else ""


def _horizon(policy: PolicyGraph, payer: URIRef) -> date | None:
    """The latest start or end of the payer's rules and its baselines' (the graph's horizon)."""
    days = []
    for baseline in _version_index(policy).baselines.get(payer, [payer]):
        rows = _select_once(policy, "payer-horizon", payer=baseline)
        last = rows[0].get("lastChange") if rows else None
        if last is not None:
            days.append(last.toPython())
    return max(days, default=None)


# A rule last checked against its sources more than this before the date of service may have changed.
REVIEW_HORIZON = timedelta(days=365)


def _add_notices(
    policy: PolicyGraph, answer: CoverageAnswer, payer: URIRef, day: date, current_to: date | None
) -> None:
    answer.notices.extend(_freshness_notices(_terms(policy), answer.rules, day))
    floor = coverage_floors(policy).get(payer)
    if floor:
        # The floor itself is a rule of law: cite where the payer's inheritance is stated.
        answer.citations = answer.citations + _payer_citations(_terms(policy), payer)
        if answer.determination == "unknown":
            answer.summary = "Unknown: the coverage floor does not settle this; the plan's contract decides."
        answer.notices.append(
            "This payer inherits only the coverage floor of "
            + " and ".join(sorted(_terms(policy).label(b) for b in floor))
            + ": place of service, modifiers, payment rate and benefits beyond the floor are set by the "
            "plan's own contract, which the graph does not hold."
        )
    last = _horizon(policy, payer)
    if last is not None and day >= last:
        answer.notices.append(
            f"The date of service is on or after {last}, the last change in this payer's rules that the "
            f"graph knows; the answer applies the law as known"
            + (f" from sources current to {current_to}" if current_to else "")
            + " and may be outdated."
        )


def _payer_citations(terms: _TermReader, payer: URIRef) -> list[Citation]:
    """The sources a payer's own description cites (what it inherits and why)."""
    return [
        terms.citation(source, str(payer), rule_level="")
        for source in terms.statements(payer).get(DCTERMS.source, [])
    ]


def _freshness_notices(terms: _TermReader, rules: list[str], day: date) -> list[str]:
    """Say when an answer rests on a rule not reviewed within a year of the date of service, on an
    open-ended rule its sources confirm only up to an earlier date, or on secondary sources only."""
    notices, secondary = [], []
    for rule in rules:
        statements = terms.statements(URIRef(rule))
        name = _local(rule)
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


def literal_date(node: Node | None) -> date | None:
    """The date an xsd:date literal holds, or None for anything else (or nothing)."""
    value = node.toPython() if isinstance(node, RDFLiteral) else None
    return value if isinstance(value, date) else None


# --- small helpers ---------------------------------------------------------------------------


def _same(a: Node, b: Node) -> bool:
    if isinstance(a, RDFLiteral) and isinstance(b, RDFLiteral):
        return bool(a.toPython() == b.toPython())
    return a == b


def _local(term: Node | str) -> str:
    text = str(term)
    return re.split(r"[#/]", text)[-1]


def statements_of(policy: PolicyGraph, subject: URIRef) -> dict[URIRef, list[Node]]:
    """Every statement about a rule version or term, read once per revision."""
    return _terms(policy).statements(subject)


def citations_of(policy: PolicyGraph, subject: URIRef) -> list[Citation]:
    """The citations of a rule version (or a code), with their sources and evidence level."""
    terms = _terms(policy)
    return terms.citations(_Version(subject, terms.statements(subject)))
