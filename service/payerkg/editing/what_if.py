"""What a proposed change would change: the verdicts of sample encounters and the answers to
sample coverage questions, judged on the graph before and after.

The samples are the cases that sit beside the rules (``policies/<payer>/cases/``) plus whatever
encounters the editor brings. A changed answer outside every new version's scope (payer, codes,
dates, situations), and a changed answer as known on a past day, are warnings.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS
from rdflib.term import Node

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.errors import InputError, PayerKGError
from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.graph.facets import FACETS, SCOPED, Facet
from payerkg.graph.rules import RuleModel, literal_date, rule_model, same_value
from payerkg.jsondoc import JSONObject
from payerkg.namespaces import PK
from payerkg.validation.encounter import Encounter, encounter_from_json
from payerkg.validation.validate import validate_encounter


@dataclass
class VerdictChange:
    kind: str  # "encounter", "coverage", or "coverage-as-of" (an answer as known on a past day)
    id: str
    before: str
    after: str
    outside_scope: bool = False
    """A coverage answer about a payer, code, date or situation no new version speaks to."""

    @property
    def warning(self) -> str | None:
        """What an editor must look at before applying the change, or None."""
        if self.outside_scope:
            return (
                f"{self.id}: {self.before} -> {self.after}, although no new version speaks to this "
                "payer, code, date and situation"
            )
        if self.kind == "coverage-as-of":
            return f"{self.id}: {self.before} -> {self.after}: an answer as known on a past day changes"
        return None


@dataclass(frozen=True)
class Scope:
    """Where a new rule version speaks: its payer (and the payers inheriting it), its codes, its
    effective dates and the situations it is limited to."""

    payer: URIRef
    codes: frozenset[URIRef]
    start: date
    end: date | None
    situations: tuple[tuple[Facet, tuple[Node, ...]], ...]

    def holds(self, model: RuleModel, question: CoverageQuestion) -> bool:
        """Whether the new version may speak to ``question`` (an unstated facet may take its value)."""
        try:
            payer = model.payer(question.payer).iri
            code = model.code(question.code)
        except PayerKGError:
            return False
        if (
            code is None
            or code.iri not in self.codes
            or self.payer not in model.baselines.get(payer, [payer])
        ):
            return False
        day = question.date_of_service
        if day < self.start or (self.end is not None and day > self.end):
            return False
        for facet, values in self.situations:
            given = getattr(question, facet.name)
            if given is not None:
                try:
                    fact = model.vocabulary.fact(facet, given)
                except PayerKGError:
                    return False
                if not any(same_value(fact, v) for v in values):
                    return False
        return True


def scopes_of(base: PolicyGraph, added: Graph) -> list[Scope]:
    """The scope of each rule version in ``added`` (code groups expanded with ``base``'s members)."""
    found = []
    for version in sorted(v for v in added.subjects(RDF.type, PK.RuleVersion) if isinstance(v, URIRef)):
        payer, start = added.value(version, PK.payer), literal_date(added.value(version, PK.effectiveStart))
        if not isinstance(payer, URIRef) or start is None:
            continue
        codes: set[URIRef] = set()
        for target in added.objects(version, PK.appliesTo):
            if not isinstance(target, URIRef):  # a blank node names no code or group of the base graph
                continue
            read = rule_model(base).terms.statements(target)
            codes.update([m for m in read.get(SKOS.member, []) if isinstance(m, URIRef)] or [target])
        situations = tuple(
            (facet, tuple(values))
            for facet in SCOPED
            if facet.scope is not None and (values := list(added.objects(version, facet.scope)))
        )
        end = literal_date(added.value(version, PK.effectiveEnd))
        found.append(Scope(payer, frozenset(codes), start, end, situations))
    return found


def question_from(data: JSONObject) -> CoverageQuestion:
    """A CoverageQuestion from a case file's question object (same names as the HTTP API)."""
    fields = dict(data)
    fields["date_of_service"] = date.fromisoformat(fields.pop("date"))
    if "as_of" in fields:
        fields["as_of"] = date.fromisoformat(fields["as_of"])
    return CoverageQuestion(**fields)


def sample_encounters(root: Path | None = None) -> list[Encounter]:
    """The encounters of every case beside the rules."""
    root = root or default_data_root()
    return [
        encounter_from_json(json.loads(path.read_text(encoding="utf-8"))["encounter"])
        for path in sorted((root / "policies").glob("*/cases/encounters/*.json"))
    ]


def sample_questions(root: Path | None = None) -> list[tuple[str, CoverageQuestion]]:
    """The questions of every coverage case beside the rules, with the case ids."""
    root = root or default_data_root()
    return [
        (f"{path.parent.parent.name}/{case_id}", question)
        for path in sorted((root / "policies").glob("*/cases/coverage.json"))
        for case_id, question in questions_from_cases(json.loads(path.read_text(encoding="utf-8")))
    ]


def questions_from_cases(document: Any) -> list[tuple[str, CoverageQuestion]]:
    """The questions of a coverage case document (``{"cases": [{"id", "question"}, ...]}``)."""
    try:
        return [(str(case["id"]), question_from(case["question"])) for case in document["cases"]]
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"not a coverage case document ({error.__class__.__name__})", "questions") from None


def what_if(
    before: PolicyGraph,
    after: PolicyGraph,
    encounters: list[Encounter],
    questions: list[tuple[str, CoverageQuestion]],
    added: Graph | None = None,
    today: date | None = None,
) -> list[VerdictChange]:
    """Every encounter whose verdict and every question whose answer differs between the graphs.

    With the ``added`` statements, a changed answer to a question no new version speaks to is
    marked ``outside_scope``; and for each new version known from a day before ``today`` (an
    editor entering an old law backdates it), the questions are asked again as known on that day:
    answers given as of that day change (kind ``coverage-as-of``)."""
    changes = []
    for encounter in encounters:
        was, will = _verdict(before, encounter), _verdict(after, encounter)
        if was != will:
            changes.append(VerdictChange("encounter", encounter.id, was, will))
    scopes = scopes_of(before, added) if added is not None else None
    model = rule_model(before)
    for case_id, question in questions:
        was, will = answer_in_words(before, question), answer_in_words(after, question)
        if was != will:
            outside = scopes is not None and not any(s.holds(model, question) for s in scopes)
            changes.append(VerdictChange("coverage", case_id, was, will, outside))
    for day in backdated(added, today or date.today()) if added is not None else []:
        for case_id, question in questions:
            if question.as_of is not None:
                continue
            past = dataclasses.replace(question, as_of=day)
            was, will = answer_in_words(before, past), answer_in_words(after, past)
            if was != will:
                changes.append(VerdictChange("coverage-as-of", f"{case_id} as of {day}", was, will))
    return changes


def backdated(added: Graph, today: date) -> list[date]:
    """The known-from days of the new versions that lie before ``today``, earliest first."""
    days = {literal_date(d) for d in added.objects(None, PK.knownFrom)}
    return sorted(d for d in days if d is not None and d < today)


def question_in_words(question: CoverageQuestion) -> str:
    """A question in one line: "uhc-commercial 99213 on 2027-01-01, modality audio-only"."""
    stated = [
        f"{facet.words} {getattr(question, facet.name)}"
        for facet in FACETS
        if getattr(question, facet.name) is not None
    ]
    as_of = [f"as of {question.as_of}"] if question.as_of else []
    return ", ".join([f"{question.payer} {question.code} on {question.date_of_service}", *stated, *as_of])


def _verdict(policy: PolicyGraph, encounter: Encounter) -> str:
    result = validate_encounter(policy, encounter)
    if result.no_violations:
        return "conforms"
    violations = [f for f in result.findings if f.rule and f.severity == "violation"]
    broken = sorted({str(f.rule).rsplit("/", 1)[-1] for f in violations})
    return "violates " + ", ".join(broken)


def answer_in_words(policy: PolicyGraph, question: CoverageQuestion) -> str:
    """The determination and the rule versions behind it: "covered (uhc-telehealth-audio-video-2021)"."""
    answer = coverage(policy, question)
    rules = ", ".join(sorted(r.rsplit("/", 1)[-1] for r in answer.rules))
    return f"{answer.determination} ({rules or 'no rule'})"
