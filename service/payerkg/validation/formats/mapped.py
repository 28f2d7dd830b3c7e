"""What claim formats have in common: a claim read as a payerkg encounter, where each encounter
field came from in the claim, and the facts the claim does not decide (reported, never guessed).

FHIR (``formats/fhir.py``) and X12 837P (``formats/x12.py``) each build a ``MappedEncounter``;
``validate_mapped`` judges it exactly as a JSON encounter is judged and adds a warning for each
fact the claim left open, so a finding never rests on a value payerkg made up.

>>> crosswalks().practitioner_type("207Q00000X")
'physician'
>>> crosswalks().practitioner_type("1041C0700X")
'clinical-social-worker'
>>> crosswalks().patient_status("99213"), crosswalks().patient_status("99457")
('established', None)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

from payerkg.errors import InvalidClaim, InvalidEncounter
from payerkg.graph.dataset import PolicyGraph
from payerkg.jsondoc import JSONObject
from payerkg.validation.encounter import ENCOUNTER_BASE, Limits, encounter_from_json
from payerkg.validation.validate import Finding, ValidationResult, validate_encounter

NOT_DECIDED = "https://w3id.org/payerkg/shapes/claim-mapping#not-decided"
"""The ``constraint`` and ``source_shape`` of a finding that says the claim leaves a fact open."""
SAFE_CODE = re.compile(r"[0-9A-Z]{2,10}")


@dataclass(frozen=True)
class OpenFact:
    """A fact of the encounter (``field``, as findings name it) that the claim does not decide."""

    field: str
    message: str


@dataclass
class MappedEncounter:
    """A claim read as a payerkg encounter document, with where each field came from.

    ``locations`` maps an encounter field (``lines[0].place_of_service``, ``payer``) to the place in
    the claim it was read from: a FHIRPath expression, or an X12 loop, segment and element.
    """

    document: JSONObject
    locations: dict[str, str]
    open_facts: list[OpenFact] = field(default_factory=list)
    claim_id: str = ""

    def location(self, finding_field: str) -> str | None:
        """Where in the claim a finding's field came from (a line field falls back to its line)."""
        if finding_field in self.locations:
            return self.locations[finding_field]
        line = re.match(r"lines\[(\d+)\]", finding_field)
        if line is not None:
            return self.locations.get(f"lines[{line.group(1)}]")
        return self.locations.get("encounter")


@dataclass
class MappedResult:
    """The verdict on one mapped claim and where each finding's field is in the claim."""

    result: ValidationResult
    mapped: MappedEncounter


@dataclass
class ClaimFinding(Finding):
    """A finding on a claim of a claim file, with where its field is in the file."""

    location: str | None = None


@dataclass
class ClaimVerdict:
    """The verdict on one claim of a claim file (an 837P CLM): ``claim`` is its id (CLM01),
    ``location`` where the claim starts, each finding where its field is."""

    claim: str
    location: str
    no_violations: bool
    findings: list[ClaimFinding]
    graph_revision: str
    engine: str

    @classmethod
    def of(cls, answer: MappedResult) -> ClaimVerdict:
        result, mapped = answer.result, answer.mapped
        findings = [
            ClaimFinding(
                **{f.name: getattr(finding, f.name) for f in fields(Finding)},
                location=mapped.location(finding.field),
            )
            for finding in result.findings
        ]
        where = mapped.locations.get("encounter", "")
        return cls(
            mapped.claim_id, where, result.no_violations, findings, result.graph_revision, result.engine
        )


@dataclass
class ClaimsSummary:
    """How many claims of a file conform, and the rule versions violated, most often first."""

    claims: int
    conform: int
    do_not_conform: int
    violations_by_rule: dict[str, int]

    @classmethod
    def of(cls, verdicts: list[ClaimVerdict]) -> ClaimsSummary:
        by_rule: dict[str, int] = {}
        for verdict in verdicts:
            for rule in {f.rule for f in verdict.findings if f.severity == "violation" and f.rule}:
                by_rule[rule] = by_rule.get(rule, 0) + 1
        conform = sum(1 for verdict in verdicts if verdict.no_violations)
        ordered = dict(sorted(by_rule.items(), key=lambda item: (-item[1], item[0])))
        return cls(len(verdicts), conform, len(verdicts) - conform, ordered)


@dataclass
class ClaimFileVerdict:
    """A claim file's answer: one verdict per claim, in file order, and their summary."""

    format: str
    claims: list[ClaimVerdict]
    summary: ClaimsSummary


def validate_mapped(policy: PolicyGraph, mapped: MappedEncounter, limits: Limits) -> MappedResult:
    """Judge a mapped claim as a JSON encounter is judged; each open fact becomes a warning."""
    try:
        encounter = encounter_from_json(mapped.document, limits=limits)
    except InvalidEncounter as error:  # name the claim's element, not the encounter field
        where = mapped.location(_encounter_field(error.pointer or ""))
        raise InvalidClaim(
            f"{where or 'the claim'}: {error.message.split(': ', 1)[-1]}", where or "body"
        ) from None
    result = validate_encounter(policy, encounter)
    node = ENCOUNTER_BASE + str(mapped.document["id"])
    for fact in mapped.open_facts:
        result.findings.append(
            Finding("warning", fact.message, fact.field, None, node, None, NOT_DECIDED, NOT_DECIDED)
        )
    result.findings.sort(key=lambda f: (f.severity != "violation", f.field, f.source_shape))
    return MappedResult(result, mapped)


def _encounter_field(pointer: str) -> str:
    """``encounter.lines[0].modifiers[1]`` as findings name the field: ``lines[0].modifiers``."""
    return re.sub(r"\[\d+\]$", "", pointer.removeprefix("encounter").removeprefix(".")) or "encounter"


@dataclass(frozen=True)
class Crosswalks:
    """The tables in ``crosswalks.json``: NUCC taxonomy, modifiers, E/M ranges (payer identifiers
    are the graph's, ``graph.catalog.PayerIdentifiers``)."""

    taxonomy_prefixes: tuple[tuple[str, str], ...]
    modality_modifiers: dict[str, str]
    telehealth_pos: dict[str, str | None]
    status_ranges: tuple[tuple[str, str, str], ...]

    def practitioner_type(self, taxonomy: str) -> str | None:
        return next((kind for prefix, kind in self.taxonomy_prefixes if taxonomy.startswith(prefix)), None)

    def patient_status(self, code: str) -> str | None:
        if not code.isdigit():
            return None
        return next((status for low, high, status in self.status_ranges if low <= code <= high), None)


@cache
def crosswalks() -> Crosswalks:
    data = json.loads((Path(__file__).parent / "crosswalks.json").read_text(encoding="utf-8"))
    prefixes = data["nucc_taxonomy"]["prefixes"]
    statuses = data["patient_status_codes"]
    return Crosswalks(
        taxonomy_prefixes=tuple(sorted(prefixes.items(), key=lambda item: -len(item[0]))),
        modality_modifiers=dict(data["modality_modifiers"]["modifiers"]),
        telehealth_pos=dict(data["telehealth_places_of_service"]["codes"]),
        status_ranges=tuple(
            (low, high, status) for status in ("new", "established") for low, high in statuses[status]
        ),
    )


@dataclass
class ModalityEvidence:
    """What a claim says about how a service was furnished, line by line."""

    modifiers: list[str] = field(default_factory=list)
    places_of_service: list[str] = field(default_factory=list)
    virtual_encounter: bool | None = None
    """True when the encounter's class is virtual, False when it is another class, None if unknown."""


def decide_modality(evidence: ModalityEvidence, source: str) -> tuple[str | None, OpenFact | None]:
    """The modality the modifiers, places of service and encounter class decide, or why they do not.

    >>> decide_modality(ModalityEvidence(["93"], ["10"]), "the claim")
    ('audio-only', None)
    >>> decide_modality(ModalityEvidence([], ["11"], False), "the claim")
    ('in-person', None)
    >>> decide_modality(ModalityEvidence([], ["10"]), "the claim")[1].field
    'modality'
    """
    walk = crosswalks()
    stated = sorted({walk.modality_modifiers[m] for m in evidence.modifiers if m in walk.modality_modifiers})
    if len(stated) == 1:
        return stated[0], None
    if len(stated) > 1:
        return None, OpenFact(
            "modality",
            f"modality: the modifiers on {source} state more than one modality ({', '.join(stated)}); "
            "payerkg does not choose one, so the rules that depend on it are not met",
        )
    telehealth_pos = any(pos in walk.telehealth_pos for pos in evidence.places_of_service)
    if evidence.virtual_encounter or telehealth_pos:
        why = "a virtual encounter class" if evidence.virtual_encounter else "a telehealth place of service"
        return None, OpenFact(
            "modality",
            f"modality: {source} shows telehealth ({why}) but no modifier (95, GT, 93, FQ, GQ) says "
            "whether it was audio-video, audio-only or asynchronous; payerkg does not guess it",
        )
    if evidence.places_of_service:  # none is a telehealth place, and the encounter is not virtual
        return "in-person", None
    return None, OpenFact(
        "modality",
        f"modality: {source} states no place of service, telehealth modifier or encounter class, "
        "so it does not decide how the service was furnished",
    )


def decide_patient_status(codes: list[str], source: str) -> tuple[str | None, OpenFact | None]:
    """New or established, as the E/M codes' descriptors say; open if none or both do."""
    found = {status for code in codes if (status := crosswalks().patient_status(code))}
    if len(found) == 1:
        return found.pop(), None
    reason = (
        "codes for both new and established patients" if found else "no E/M code naming new or established"
    )
    return None, OpenFact(
        "patient.status",
        f"patient.status: {source} bills {reason}; payerkg does not guess the patient status",
    )


def shown(code: str) -> str:
    """A code safe to repeat in a message (letters and digits only), or a neutral phrase."""
    return code if SAFE_CODE.fullmatch(code) else "that was given"
