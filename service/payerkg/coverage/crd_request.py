"""A CRD hook request's FHIR resources, read with fhir.resources (its R4B models): the draft
resources, their billing codes, date and modality, the payer the active Coverage names and the
practitioner's type; and a draft with coverage-information extensions attached. Imported only
when a hook is answered: FHIR's models take a third of a second to import."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest

from payerkg.errors import InvalidHookRequest
from payerkg.graph.catalog import payer_identifiers
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import CODE_PATTERN
from payerkg.jsondoc import JSONObject
from payerkg.validation.formats.fhir import ACT_CODE, CPT, HCPCS, NUCC, payer_named
from payerkg.validation.formats.mapped import crosswalks

BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
IN_PERSON_CLASSES = {"AMB", "IMP", "EMER", "HH", "FLD"}
PRACTITIONER_KEYS = ("practitioner", "practitionerRoles", "practitioners")
"""Prefetch keys read for the practitioner: payerkg's own template, and CRD's example keys."""


def drafts(hook: str, context: JSONObject, prefetch: JSONObject) -> list[Resource]:
    """The draft resources a hook is about: appointments being booked, orders being signed, or
    the encounter being started (from prefetch)."""
    if hook == "appointment-book":
        return [
            r
            for r in _resources(context.get("appointments"), "context.appointments")
            if isinstance(r, Appointment)
        ]
    if hook == "order-sign":
        return [
            r
            for r in _resources(context.get("draftOrders"), "context.draftOrders")
            if isinstance(r, ServiceRequest)
        ]
    encounter = _first(_resources(prefetch.get("encounter"), "prefetch.encounter"), Encounter)
    return [encounter] if encounter is not None else []


def active_coverage(prefetch: JSONObject) -> Coverage | None:
    """The Coverage sent in prefetch, if any."""
    found: Coverage | None = _first(_resources(prefetch.get("coverage"), "prefetch.coverage"), Coverage)
    return found


def payer(policy: PolicyGraph, coverage_resource: Coverage | None) -> str | None:
    """The payer a Coverage's payor identifiers name, if payerkg knows one."""
    if coverage_resource is None:
        return None
    for payor in coverage_resource.payor or []:
        identifier = payor.identifier
        if identifier is not None and identifier.value:
            found = payer_named(identifier.system, str(identifier.value), payer_identifiers(policy))
            if found is not None:
                return found
    return None


def practitioner_type(prefetch: JSONObject) -> str | None:
    """The practitioner type the prefetched Practitioner and PractitionerRoles agree on (NUCC
    taxonomy codes), or None."""
    resources = [r for key in PRACTITIONER_KEYS for r in _resources(prefetch.get(key), f"prefetch.{key}")]
    codes: list[str] = []
    for resource in resources:
        if isinstance(resource, PractitionerRole):
            for concept in [*(resource.code or []), *(resource.specialty or [])]:
                codes += [c.code for c in concept.coding or [] if c.system == NUCC and c.code]
        elif isinstance(resource, Practitioner):
            for qualification in resource.qualification or []:
                codes += [c.code for c in qualification.code.coding or [] if c.system == NUCC and c.code]
    kinds = {kind for code in codes if (kind := crosswalks().practitioner_type(code))}
    return kinds.pop() if len(kinds) == 1 else None


def facts(draft: Resource, today: date) -> tuple[list[str], date, str | None]:
    """A draft's billing codes, its date (today if it has none) and the modality it decides."""
    modality: str | None = None
    when: Any = None
    if isinstance(draft, Appointment):
        codes = [c for concept in draft.serviceType or [] for c in _concept_codes(concept)]
        when = draft.start or (draft.requestedPeriod[0].start if draft.requestedPeriod else None)
    elif isinstance(draft, ServiceRequest):
        codes = _concept_codes(draft.code)
        when = draft.occurrenceDateTime or (draft.occurrencePeriod.start if draft.occurrencePeriod else None)
    else:
        assert isinstance(draft, Encounter)
        codes = [c for concept in draft.type or [] for c in _concept_codes(concept)]
        when = draft.period.start if draft.period else None
        if draft.class_fhir is not None and draft.class_fhir.system == ACT_CODE:
            modality = "in-person" if draft.class_fhir.code in IN_PERSON_CLASSES else None
    day = when.date() if hasattr(when, "date") else when if isinstance(when, date) else today
    return codes[:20], day, modality


def with_extensions(draft: Resource, extensions: list[JSONObject]) -> JSONObject:
    """The draft with ``extensions`` (of one URL) in place of any it had, checked as FHIR R4 by
    fhir.resources."""
    resource: JSONObject = json.loads(draft.model_dump_json(exclude_none=True))
    kept = resource.get("extension", [])
    assert isinstance(kept, list)
    resource["extension"] = [
        *(e for e in kept if isinstance(e, dict) and e.get("url") != extensions[0]["url"]),
        *extensions,
    ]
    type(draft).model_validate(resource)
    return resource


def _parsed(document: Any, where: str) -> Resource:
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise InvalidHookRequest(f"{where}: must be a FHIR resource", where)
    try:
        model = get_fhir_model_class(document["resourceType"])
    except (KeyError, ValueError, LookupError):
        raise InvalidHookRequest(f"{where}: not a FHIR R4 resource type", where) from None
    try:
        resource: Resource = model.model_validate(document)  # type: ignore[assignment]
        return resource
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise InvalidHookRequest(f"{path}: not valid FHIR R4 ({first['type']})", path) from None
    except (ValueError, TypeError, KeyError, AttributeError):
        raise InvalidHookRequest(f"{where}: cannot be read as FHIR R4", where) from None


def _resources(document: Any, where: str) -> list[Resource]:
    """A resource, or the resources of a Bundle (a search result, a collection); None is none."""
    if document is None:
        return []
    resource = _parsed(document, where)
    if isinstance(resource, Bundle):
        return [entry.resource for entry in resource.entry or [] if entry.resource is not None]
    return [resource]


def _first(resources: list[Resource], kind: type[Resource]) -> Any:
    return next((r for r in resources if isinstance(r, kind)), None)


def _concept_codes(concept: CodeableConcept | None) -> list[str]:
    if concept is None:
        return []
    codes = [c.code for c in concept.coding or [] if c.system in (CPT, HCPCS) and c.code]
    for extension in concept.extension or []:
        if extension.url == BILLING_OPTIONS and extension.valueCodeableConcept is not None:
            codes += [
                c.code
                for c in extension.valueCodeableConcept.coding or []
                if c.system in (CPT, HCPCS) and c.code
            ]
    return [code for code in dict.fromkeys(codes) if CODE_PATTERN.fullmatch(code)]
