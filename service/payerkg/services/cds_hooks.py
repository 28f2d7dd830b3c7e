"""A CDS Hooks 2.0 coverage service in the shape of Da Vinci CRD: discovery, and the answer to an
``appointment-book``, ``order-sign`` or ``encounter-start`` request as cards and system actions that
attach the CRD coverage-information extension to each draft resource (docs/cds-hooks.md).

Requests carry patient data: they are read in memory, never logged or stored, and nothing they
point to (``fhirServer``, references) is ever fetched: what is not in ``context`` or ``prefetch`` is
unknown, and the answer says what it depends on.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.coverage.crd import Assertion, card_detail, coverage_information
from payerkg.errors import InvalidHookRequest, ParseError, TooLarge, UnknownService
from payerkg.graph.catalog import payers
from payerkg.graph.dataset import PolicyGraph
from payerkg.jsondoc import JSONObject
from payerkg.validation.encounter import DEFAULT_LIMITS, Limits, load_json
from payerkg.validation.formats.mapped import crosswalks

CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
CDS_HOOKS_VERSION = "2.0"
CRD_VERSION = "2.2.1"


@dataclass(frozen=True)
class ServiceDefinition:
    """One CDS service as discovery lists it (CDS Hooks 2.0)."""

    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None  # noqa: N815 (CDS Hooks' name)


@dataclass(frozen=True)
class Discovery:
    services: list[ServiceDefinition]


PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "practitioner": "{{context.userId}}",
}
SERVICES = (
    ServiceDefinition(
        "appointment-book",
        "payerkg coverage at booking",
        "Coverage, billing and documentation requirements of the patient's payer for the billing codes "
        "of the appointments being booked (Da Vinci CRD coverage information).",
        "payerkg-appointment-book",
        {**PREFETCH, "encounter": "Encounter/{{context.encounterId}}"},
        "Send the active Coverage in prefetch: payerkg reads the payer from Coverage.payor identifiers "
        "and fetches nothing.",
    ),
    ServiceDefinition(
        "order-sign",
        "payerkg coverage at order signing",
        "Coverage, billing and documentation requirements of the patient's payer for the CPT and HCPCS "
        "codes of draft ServiceRequests (Da Vinci CRD coverage information).",
        "payerkg-order-sign",
        {**PREFETCH, "encounter": "Encounter/{{context.encounterId}}"},
        "Send the active Coverage in prefetch.",
    ),
    ServiceDefinition(
        "encounter-start",
        "payerkg coverage at encounter start",
        "Coverage, billing and documentation requirements of the patient's payer for the billing codes "
        "of the encounter being started (Da Vinci CRD coverage information).",
        "payerkg-encounter-start",
        {**PREFETCH, "encounter": "Encounter/{{context.encounterId}}"},
        "Send the active Coverage and the Encounter in prefetch.",
    ),
)


def discovery() -> Discovery:
    return Discovery(list(SERVICES))


@dataclass(frozen=True)
class CardCoding:
    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True)
class CardSource:
    label: str
    topic: CardCoding
    url: str | None = None


@dataclass(frozen=True)
class Card:
    """A CDS Hooks card (summary of at most 140 characters, markdown detail)."""

    uuid: str
    summary: str
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    detail: str | None = None


@dataclass(frozen=True)
class SystemAction:
    """A CDS Hooks action the client applies without asking: here the draft resource with the CRD
    coverage-information extension attached (``type`` update)."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: JSONObject


@dataclass
class HookResponse:
    cards: list[Card] = field(default_factory=list)
    systemActions: list[SystemAction] = field(default_factory=list)  # noqa: N815 (CDS Hooks' name)

    def to_json(self) -> JSONObject:
        """The response as CDS Hooks clients read it: absent fields left out, not null."""
        return dict(_without_none(asdict(self)))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def service(service_id: str) -> ServiceDefinition | None:
    return next((s for s in SERVICES if s.id == service_id), None)


def answer_hook(
    policy: PolicyGraph,
    service_id: str | None,
    body: bytes,
    limits: Limits = DEFAULT_LIMITS,
    today: date | None = None,
) -> HookResponse:
    """Answer one hook request for the service ``service_id`` (None: the service of the request's
    hook), or raise an ``InputError`` if it is not one that service takes."""
    definition = service(service_id) if service_id is not None else None
    if service_id is not None and definition is None:
        raise UnknownService("no CDS service has this id (GET /cds-services lists them)", "service_id")
    from payerkg.coverage import crd_request  # FHIR's models: only when a hook is answered

    request = _request(body, limits, definition)
    definition = definition or next(s for s in SERVICES if s.hook == request["hook"])
    context, prefetch = request["context"], request.get("prefetch") or {}
    drafts = crd_request.drafts(definition.hook, context, prefetch)
    day = today or date.today()
    response = HookResponse()
    coverage_resource = crd_request.active_coverage(prefetch)
    payer = crd_request.payer(policy, coverage_resource)
    if coverage_resource is None or payer is None:
        why = (
            "no Coverage in prefetch"
            if coverage_resource is None
            else "its Coverage.payor names no payer payerkg knows"
        )
        response.cards.append(_card(f"payerkg cannot tell the payer: {why}", "info", _NO_PAYER_DETAIL))
        return response
    if payer not in {p.id for p in payers(policy)}:
        response.cards.append(_card(f"payerkg knows no payer {payer}", "info", _NO_PAYER_DETAIL))
        return response
    practitioner = crd_request.practitioner_type(prefetch)
    coverage_reference = f"Coverage/{coverage_resource.id}" if coverage_resource.id else "Coverage"
    for draft in drafts:
        codes, day_of_service, modality = crd_request.facts(draft, day)
        extensions: list[JSONObject] = []
        for code in codes:
            question = CoverageQuestion(
                payer=payer,
                code=code,
                date_of_service=day_of_service,
                modality=modality,
                patient_status=crosswalks().patient_status(code),
                practitioner_type=practitioner,
            )
            answer = coverage(policy, question)
            extension = coverage_information(Assertion(question, answer, coverage_reference, day))
            label = f"{payer} {code} on {day_of_service}"
            if extension is None:
                response.cards.append(
                    _card(
                        f"{label}: no rule is known",
                        "info",
                        "payerkg knows no rule for this payer, code and "
                        "date: this says nothing about coverage.\n\n" + card_detail(answer),
                    )
                )
                continue
            extensions.append(extension)
            words = {
                "covered": "covered",
                "conditional": "covered only if conditions hold",
                "not-covered": "not covered",
            }
            covered = next(e["valueCode"] for e in extension["extension"] if e["url"] == "covered")
            indicator: Literal["info", "warning"] = "info" if covered == "covered" else "warning"
            response.cards.append(_card(f"{label}: {words[covered]}", indicator, card_detail(answer)))
        if extensions:
            kind = f"{draft.get_resource_type()}/{draft.id or ''}"
            resource = crd_request.with_extensions(draft, extensions)
            response.systemActions.append(
                SystemAction("update", f"Coverage information for {kind}", resource)
            )
    if not drafts:
        response.cards.append(_card("payerkg found no draft resource with a CPT or HCPCS code", "info", None))
    return response


_NO_PAYER_DETAIL = (
    "payerkg reads the payer from `Coverage.payor` identifiers (system `https://w3id.org/payerkg/payer`, "
    "or an electronic payer ID it lists) of the active Coverage sent in prefetch; it fetches nothing. "
    "No coverage information can be given."
)


def _card(summary: str, indicator: Literal["info", "warning"], detail: str | None) -> Card:
    topic = CardCoding(CARD_TYPES, "coverage-info", "Coverage Information")
    return Card(str(uuid.uuid4()), summary[:140], indicator, CardSource("payerkg", topic), detail)


def _request(body: bytes, limits: Limits, definition: ServiceDefinition | None) -> JSONObject:
    if len(body) > limits.max_bytes:
        raise TooLarge(f"the request is larger than {limits.max_bytes} bytes", "body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"the request is not UTF-8 (byte {error.start})", "body") from None
    request = load_json(text, limits)
    if not isinstance(request, dict):
        raise InvalidHookRequest("a hook request is a JSON object", "body")
    for name in ("hook", "hookInstance", "context"):
        if name not in request:
            raise InvalidHookRequest(f"{name}: a hook request needs it", name)
    hooks = [definition.hook] if definition is not None else [s.hook for s in SERVICES]
    if request["hook"] not in hooks:
        raise InvalidHookRequest(f"hook: the service answers {' or '.join(hooks)} requests", "hook")
    if not isinstance(request["context"], dict):
        raise InvalidHookRequest("context: must be a JSON object", "context")
    if request.get("prefetch") is not None and not isinstance(request["prefetch"], dict):
        raise InvalidHookRequest("prefetch: must be a JSON object", "prefetch")
    return request
