"""FHIR R4 claims as encounters: a Bundle holding one professional Claim and the resources it
refers to (Patient, Coverage, Organization, Practitioner, PractitionerRole, Location, Encounter), or a
Claim with contained resources. The resources are parsed and checked with fhir.resources (its R4B
models, whose Claim, Coverage and Encounter are R4's), then read into payerkg's encounter format as
docs/fhir.md maps them; findings come back as an OperationOutcome whose issues point at the Claim's
elements in FHIRPath.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pydantic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim, ClaimCareTeam, ClaimItem
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from payerkg.errors import InvalidClaim, ParseError, TooLarge, UnknownPayerIdentifier
from payerkg.graph.catalog import PayerIdentifiers
from payerkg.jsondoc import JSONObject
from payerkg.validation.encounter import DEFAULT_LIMITS, Limits, load_json
from payerkg.validation.formats.mapped import (
    NOT_DECIDED,
    MappedEncounter,
    MappedResult,
    ModalityEvidence,
    OpenFact,
    crosswalks,
    decide_modality,
    decide_patient_status,
    shown,
)

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NUCC = "http://nucc.org/provider-taxonomy"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
PAYERKG_PAYER = "https://w3id.org/payerkg/payer"
NAIC = "urn:oid:2.16.840.1.113883.6.300"
"""The identifier system of NAIC company codes (HL7's OID for them, as Da Vinci PDex uses it)."""
PAYERKG_DOCUMENTATION = "https://w3id.org/payerkg/documentation"
PAYERKG_RULE = "https://w3id.org/payerkg/rule"
GRAPH_REVISION_EXTENSION = "https://w3id.org/payerkg/fhir/StructureDefinition/graph-revision"
PROCEDURE_SYSTEMS = (CPT, HCPCS)
IN_PERSON_CLASSES = {"AMB", "IMP", "EMER", "HH", "FLD", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS"}


def read_fhir_claim(
    body: bytes, payers: PayerIdentifiers, limits: Limits = DEFAULT_LIMITS
) -> MappedEncounter:
    """A FHIR Claim (alone, or in a Bundle) read as an encounter, its payer named by an identifier
    ``payers`` (the graph's) knows; an ``InputError`` naming the element if it is not valid FHIR R4
    or cannot be read as one professional claim."""
    if len(body) > limits.max_bytes:
        raise TooLarge(f"the document is larger than {limits.max_bytes} bytes", "body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"the document is not UTF-8 (byte {error.start})", "body") from None
    document = load_json(text, limits)
    if not isinstance(document, dict):
        raise InvalidClaim("a FHIR document must be a JSON object", "body")
    kind = document.get("resourceType")
    if kind == "Bundle":
        bundle = _parsed(Bundle, document, "Bundle")
        claim, resources = _claim_in_bundle(bundle)
    elif kind == "Claim":
        claim = _parsed(Claim, document, "Claim")
        resources = _Resources({})
    else:
        raise InvalidClaim(
            "resourceType: a FHIR claim is a Bundle holding one Claim, or a Claim with contained resources",
            "resourceType",
        )
    for resource in claim.contained or []:
        if resource.id:
            resources.by_reference["#" + resource.id] = resource
    return _Reader(claim, resources, payers).mapped()


def _parsed(model: type[Resource], document: JSONObject, root: str) -> Any:
    try:
        return model.model_validate(document)
    except pydantic.ValidationError as error:
        problems = [(_fhirpath(root, e["loc"]), _reason(e)) for e in error.errors()[:5]]
        raise InvalidClaim(
            "not valid FHIR R4: " + "; ".join(f"{where}: {why}" for where, why in problems), problems[0][0]
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError):  # fhir.resources raises these on odd input
        raise InvalidClaim(f"not valid FHIR R4: {root} cannot be read", root) from None


def _fhirpath(root: str, loc: tuple[int | str, ...]) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _reason(error: Any) -> str:
    """Pydantic's reason, unless it could repeat the submitted value (never echoed)."""
    value = error.get("input")
    message = str(error.get("msg", "is not valid"))
    if error.get("type") == "missing":
        return "a required element is missing"
    if error.get("type") == "extra_forbidden":
        return "is not an element of this resource"
    if isinstance(value, str | int | float) and str(value) and str(value) in message:
        return "has a value of the wrong form"
    return message.removeprefix("Value error, ")[:200]


@dataclass
class _Resources:
    """The resources a Claim can refer to: by full URL, by ``Type/id`` and, contained, by ``#id``."""

    by_reference: dict[str, Resource]
    encounters: list[FhirEncounter] = field(default_factory=list)

    def get(self, reference: Reference | None, kind: type[Resource]) -> Any:
        if reference is None or not reference.reference:
            return None
        found = self.by_reference.get(reference.reference)
        return found if isinstance(found, kind) else None


def _claim_in_bundle(bundle: Bundle) -> tuple[Claim, _Resources]:
    resources = _Resources({})
    claims: list[Claim] = []
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl:
            resources.by_reference[entry.fullUrl] = resource
        if resource.id:
            resources.by_reference[f"{resource.get_resource_type()}/{resource.id}"] = resource
        if isinstance(resource, Claim):
            claims.append(resource)
        elif isinstance(resource, FhirEncounter):
            resources.encounters.append(resource)
    if len(claims) != 1:
        raise InvalidClaim(
            f"Bundle.entry: a Bundle must hold exactly one Claim (it holds {len(claims)})", "Bundle.entry"
        )
    return claims[0], resources


def payer_named(system: str | None, value: str, payers: PayerIdentifiers) -> str | None:
    """The payer an Identifier names: the payerkg system gives the payer id itself, the NAIC system
    a NAIC company code, any other system an electronic payer ID (docs/fhir.md)."""
    if system == PAYERKG_PAYER:
        return value
    if system == NAIC:
        return payers.naic(value)
    return payers.electronic(value)


class _Reader:
    """Reads one Claim into the encounter format, noting where each field came from."""

    def __init__(self, claim: Claim, resources: _Resources, payers: PayerIdentifiers) -> None:
        self.claim = claim
        self.resources = resources
        self.payers = payers
        self.locations: dict[str, str] = {"encounter": "Claim", "lines": "Claim.item"}
        self.open: list[OpenFact] = []

    def mapped(self) -> MappedEncounter:
        claim = self.claim
        items = claim.item or []
        if not items:
            raise InvalidClaim("Claim.item: a claim needs at least one item", "Claim.item")
        lines = [self._line(i, item) for i, item in enumerate(items)]
        document: JSONObject = {
            "id": claim.id or "claim",
            "payer": self._payer(),
            "date_of_service": self._date(items),
            "lines": lines,
        }
        encounter = self._encounter()
        modality, open_modality = decide_modality(
            ModalityEvidence(
                [m for line in lines for m in line.get("modifiers", [])],
                [line["place_of_service"] for line in lines if "place_of_service" in line],
                self._virtual(encounter),
            ),
            "the claim",
        )
        self.locations["modality"] = "Claim.item.modifier"
        self._keep(document, "modality", modality, open_modality)
        status, open_status = decide_patient_status([line["code"] for line in lines], "the claim")
        self.locations["patient.status"] = "Claim.item.productOrService"
        if status is not None:
            document["patient"] = {"status": status}
        self._note(open_status)
        location = self._patient_location(lines, encounter)
        if location:
            document["patient_location"] = location
        practitioner = self._practitioner_type()
        if practitioner is not None:
            document["practitioner"] = {"type": practitioner}
        documentation = self._documentation()
        if documentation:
            document["documentation"] = documentation
        return MappedEncounter(document, self.locations, self.open, str(document["id"]))

    def _keep(self, document: JSONObject, key: str, value: str | None, fact: OpenFact | None) -> None:
        if value is not None:
            document[key] = value
        self._note(fact)

    def _note(self, fact: OpenFact | None) -> None:
        if fact is not None:
            self.open.append(fact)

    def _line(self, i: int, item: ClaimItem) -> JSONObject:
        where = f"Claim.item[{i}]"
        self.locations[f"lines[{i}]"] = where
        code = _code_in(item.productOrService, PROCEDURE_SYSTEMS)
        if code is None:
            raise InvalidClaim(
                f"{where}.productOrService: no coding in the CPT ({CPT}) or HCPCS ({HCPCS}) system",
                f"{where}.productOrService",
            )
        line: JSONObject = {"code": code}
        self.locations[f"lines[{i}].code"] = f"{where}.productOrService"
        modifiers = []
        for j, modifier in enumerate(item.modifier or []):
            value = _code_in(modifier, PROCEDURE_SYSTEMS)
            if value is None:
                raise InvalidClaim(
                    f"{where}.modifier[{j}]: no coding in the CPT or HCPCS system", f"{where}.modifier[{j}]"
                )
            modifiers.append(value)
        if modifiers:
            line["modifiers"] = modifiers
            self.locations[f"lines[{i}].modifiers"] = f"{where}.modifier"
        if item.locationCodeableConcept is not None:
            pos = _code_in(item.locationCodeableConcept, (POS,))
            if pos is None:
                raise InvalidClaim(
                    f"{where}.locationCodeableConcept: no coding in the CMS place-of-service system ({POS})",
                    f"{where}.locationCodeableConcept",
                )
            line["place_of_service"] = pos
        self.locations[f"lines[{i}].place_of_service"] = f"{where}.locationCodeableConcept"
        if item.quantity is not None and item.quantity.value is not None:
            units = item.quantity.value
            if units != int(units):
                raise InvalidClaim(f"{where}.quantity: units must be a whole number", f"{where}.quantity")
            line["units"] = int(units)
            self.locations[f"lines[{i}].units"] = f"{where}.quantity"
        return line

    def _date(self, items: list[ClaimItem]) -> str:
        dates: list[tuple[str, str]] = []
        for i, item in enumerate(items):
            if item.servicedDate is not None:
                dates.append((_day(item.servicedDate, f"Claim.item[{i}].servicedDate"), f"Claim.item[{i}]"))
            elif item.servicedPeriod is not None and item.servicedPeriod.start is not None:
                where = f"Claim.item[{i}].servicedPeriod.start"
                dates.append((_day(item.servicedPeriod.start, where), f"Claim.item[{i}]"))
        if (
            not dates
            and self.claim.billablePeriod is not None
            and self.claim.billablePeriod.start is not None
        ):
            self.locations["date_of_service"] = "Claim.billablePeriod.start"
            return _day(self.claim.billablePeriod.start, "Claim.billablePeriod.start")
        if not dates:
            raise InvalidClaim(
                "Claim.item[0].servicedDate: no date of service (item servicedDate or servicedPeriod, "
                "or Claim.billablePeriod)",
                "Claim.item[0].servicedDate",
            )
        different = next((where for day, where in dates if day != dates[0][0]), None)
        if different is not None:
            raise InvalidClaim(
                f"{different}.servicedDate: every item must have the same date of service "
                "(one claim is validated as one encounter on one date)",
                f"{different}.servicedDate",
            )
        self.locations["date_of_service"] = f"{dates[0][1]}.servicedDate"
        return dates[0][0]

    def _payer(self) -> str:
        claim = self.claim
        candidates: list[tuple[Identifier, str]] = []
        if claim.insurer is not None:
            organization = self.resources.get(claim.insurer, Organization)
            found = [claim.insurer.identifier] if claim.insurer.identifier else []
            found += list(organization.identifier or []) if organization is not None else []
            candidates += [(identifier, "Claim.insurer") for identifier in found]
        if not candidates:
            for coverage, where in self._coverages():
                for k, payor in enumerate(coverage.payor or []):
                    organization = self.resources.get(payor, Organization)
                    found = [payor.identifier] if payor.identifier else []
                    found += list(organization.identifier or []) if organization is not None else []
                    candidates += [(identifier, f"{where}.payor[{k}]") for identifier in found]
        if not candidates:
            raise InvalidClaim(
                "Claim.insurer: names no payer identifier "
                "(neither does a Coverage.payor the claim refers to)",
                "Claim.insurer",
            )
        for identifier, where in candidates:
            value = identifier.value or ""
            payer = payer_named(identifier.system, value, self.payers)
            if payer is not None:
                self.locations["payer"] = where
                return payer
        where = candidates[0][1]
        raise UnknownPayerIdentifier(
            f"{where}: no identifier names a payer payerkg knows (docs/fhir.md lists the payer identifiers)",
            where,
        )

    def _coverages(self) -> list[tuple[Coverage, str]]:
        found = []
        ordered = sorted(enumerate(self.claim.insurance or []), key=lambda pair: not pair[1].focal)
        for _, insurance in ordered:
            coverage = self.resources.get(insurance.coverage, Coverage)
            if coverage is not None:
                found.append((coverage, "Coverage"))
        return found

    def _encounter(self) -> FhirEncounter | None:
        for item in self.claim.item or []:
            for reference in item.encounter or []:
                encounter: FhirEncounter | None = self.resources.get(reference, FhirEncounter)
                if encounter is not None:
                    return encounter
        return self.resources.encounters[0] if len(self.resources.encounters) == 1 else None

    @staticmethod
    def _virtual(encounter: FhirEncounter | None) -> bool | None:
        if encounter is None or encounter.class_fhir is None or encounter.class_fhir.system != ACT_CODE:
            return None
        code = encounter.class_fhir.code or ""
        return True if code == "VR" else False if code in IN_PERSON_CLASSES else None

    def _patient_location(self, lines: list[JSONObject], encounter: FhirEncounter | None) -> JSONObject:
        location: JSONObject = {}
        home_line = next((i for i, line in enumerate(lines) if line.get("place_of_service") == "10"), None)
        site = self._encounter_location(encounter)
        if home_line is not None:
            location["setting"] = "home"
            self.locations["patient_location.setting"] = f"Claim.item[{home_line}].locationCodeableConcept"
        elif site is not None and ("PTRES" in _location_types(site)):
            location["setting"] = "home"
            self.locations["patient_location.setting"] = "Encounter.location.location"
        else:
            self.locations["patient_location.setting"] = "Claim.item.locationCodeableConcept"
            self.open.append(
                OpenFact(
                    "patient_location.setting",
                    "patient_location.setting: the claim does not decide whether the patient was at home "
                    "or in a facility (place of service 10, or an encounter location of type PTRES, "
                    "would say home); payerkg does not guess it",
                )
            )
        state, where = self._state(location.get("setting") == "home", site)
        if state is not None:
            location["state"] = state
            self.locations["patient_location.state"] = where
        else:
            self.locations["patient_location.state"] = "Claim.patient"
            self.open.append(
                OpenFact(
                    "patient_location.state",
                    "patient_location.state: the claim does not say in which state the patient was "
                    "(the patient's home address when at home, or the encounter location's address)",
                )
            )
        self.locations["patient_location.rural"] = "Claim.patient"
        self.open.append(
            OpenFact(
                "patient_location.rural",
                "patient_location.rural: a FHIR claim does not say whether the patient's site is rural; "
                "payerkg leaves it unstated",
            )
        )
        return location

    def _encounter_location(self, encounter: FhirEncounter | None) -> Location | None:
        if encounter is None:
            return None
        for entry in encounter.location or []:
            location: Location | None = self.resources.get(entry.location, Location)
            if location is not None:
                return location
        return None

    def _state(self, at_home: bool, site: Location | None) -> tuple[str | None, str]:
        if at_home:
            patient = self.resources.get(self.claim.patient, Patient)
            addresses = list(patient.address or []) if patient is not None else []
            home = next((a for a in addresses if a.use == "home"), addresses[0] if addresses else None)
            if home is not None and home.state:
                return str(home.state), "Patient.address.state"
        if site is not None and site.address is not None and site.address.state:
            return str(site.address.state), "Location.address.state"
        return None, ""

    def _practitioner_type(self) -> str | None:
        taxonomies, where = self._taxonomies()
        self.locations["practitioner.type"] = where
        kinds = sorted({kind for code in taxonomies if (kind := crosswalks().practitioner_type(code))})
        if len(kinds) == 1:
            return kinds[0]
        if len(kinds) > 1:
            reason = f"NUCC taxonomies of more than one practitioner type ({', '.join(kinds)})"
        elif taxonomies:
            codes = ", ".join(shown(c) for c in taxonomies[:3])
            reason = f"NUCC taxonomy {codes}, which maps to no practitioner type"
        else:
            reason = "no NUCC taxonomy (PractitionerRole.code or specialty, or Practitioner.qualification)"
        self.open.append(
            OpenFact(
                "practitioner.type",
                f"practitioner.type: the rendering practitioner has {reason}; payerkg leaves the "
                "practitioner type unstated, and answers list who is eligible",
            )
        )
        return None

    def _taxonomies(self) -> tuple[list[str], str]:
        claim = self.claim
        team = list(claim.careTeam or [])
        member: tuple[int, ClaimCareTeam] | None = None
        sequences = (claim.item or [])[0].careTeamSequence or [] if claim.item else []
        for k, candidate in enumerate(team):
            if candidate.sequence in sequences or _code_in(candidate.role, (CARE_TEAM_ROLE,)) == "primary":
                member = (k, candidate)
                break
        if member is None and team:
            member = (0, team[0])
        codes: list[str] = []
        if member is not None:
            k, chosen = member
            codes += _codes_in(chosen.qualification, NUCC)
            provider, where = chosen.provider, f"Claim.careTeam[{k}].provider"
        else:
            provider, where = claim.provider, "Claim.provider"
        role = self.resources.get(provider, PractitionerRole)
        if role is not None:
            for concept in [*(role.code or []), *(role.specialty or [])]:
                codes += _codes_in(concept, NUCC)
            where = "PractitionerRole.code"
            provider = role.practitioner
        practitioner = self.resources.get(provider, Practitioner)
        if practitioner is not None:
            for qualification in practitioner.qualification or []:
                codes += _codes_in(qualification.code, NUCC)
        return codes, where

    def _documentation(self) -> list[str]:
        found = []
        for info in self.claim.supportingInfo or []:
            found += _codes_in(info.category, PAYERKG_DOCUMENTATION)
        self.locations["documentation"] = "Claim.supportingInfo"
        return found


def _location_types(location: Location) -> list[str]:
    """The HL7 v3 RoleCode codes of a Location's types (PTRES is the patient's residence)."""
    return [code for concept in location.type or [] for code in _codes_in(concept, ROLE_CODE)]


def _code_in(concept: CodeableConcept | None, systems: tuple[str, ...]) -> str | None:
    if concept is None:
        return None
    return next((c.code for c in concept.coding or [] if c.system in systems and c.code), None)


def _codes_in(concept: CodeableConcept | None, system: str) -> list[str]:
    if concept is None:
        return []
    return [c.code for c in concept.coding or [] if c.system == system and c.code]


def _day(value: date | str, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    if len(value) >= 10:
        return value[:10]
    raise InvalidClaim(f"{where}: the date of service must be a full date (YYYY-MM-DD)", where)


def operation_outcome(answer: MappedResult | None, result: Any) -> JSONObject:
    """A verdict as a FHIR OperationOutcome: one issue per finding, with a FHIRPath ``expression``
    to the claim element when the encounter came from a FHIR claim, the rule in ``details`` and its
    sources in ``diagnostics``; one informational issue when there is no finding."""
    issues: list[JSONObject] = []
    for finding in result.findings:
        issue: JSONObject = {
            "severity": "error" if finding.severity == "violation" else "warning",
            "code": "incomplete"
            if finding.constraint == NOT_DECIDED
            else "business-rule"
            if finding.rule
            else "invalid",
            "details": {"text": finding.message},
        }
        if finding.rule:
            issue["details"]["coding"] = [{"system": PAYERKG_RULE, "code": finding.rule}]
        sources = [f"{c.title} <{c.url}> ({c.evidence_level}, read {c.accessed})" for c in finding.citations]
        diagnostics = [f"rule {finding.rule}"] if finding.rule else []
        diagnostics += [f"source: {source}" for source in sources]
        if diagnostics:
            issue["diagnostics"] = "; ".join(diagnostics)
        expression = answer.mapped.location(finding.field) if answer is not None else None
        if expression:
            issue["expression"] = [expression]
        issues.append(issue)
    if not issues:
        issues.append(
            {"severity": "information", "code": "informational", "details": {"text": "no findings"}}
        )
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "extension": [{"url": GRAPH_REVISION_EXTENSION, "valueString": result.graph_revision}],
            "issue": issues,
        }
    )
    return dict(json.loads(outcome.model_dump_json(exclude_none=True)))
