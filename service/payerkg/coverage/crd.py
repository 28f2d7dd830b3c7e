"""Coverage answers in the shape of HL7 Da Vinci Coverage Requirements Discovery (CRD 2.2, the
continuous build of HL7/davinci-crd): the coverage-information extension a CRD server attaches to a
draft order, appointment or encounter, and the text of the card that explains it.

payerkg's determinations map onto CRD's value sets explicitly (docs/cds-hooks.md):
covered -> covered; conditional -> conditional with ``info-needed``; not-covered and invalid-code
-> not-covered with a ``reason``; unknown -> no extension at all (a card says no rule is known).

>>> CRD_COVERED["conditional"], CRD_COVERED["invalid-code"], "unknown" in CRD_COVERED
('conditional', 'not-covered', False)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion
from payerkg.graph.facets import FACETS
from payerkg.jsondoc import JSONObject

COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
DETAIL_CODES = "https://w3id.org/payerkg/crd-detail"
"""payerkg's own detail codes (``rule``, ``documentation``, ``condition``, ``billing``): CRD's
detail code binding is extensible."""

CRD_COVERED: dict[str, Literal["covered", "not-covered", "conditional"]] = {
    "covered": "covered",
    "conditional": "conditional",
    "not-covered": "not-covered",
    "invalid-code": "not-covered",
}
"""payerkg determination -> CRD ``covered``; ``unknown`` has no entry: it never becomes an extension."""

INFO_NEEDED: dict[str, str] = {
    "practitioner-type": "performer",
    "patient-location": "location",
    "rural": "location",
}
"""An open fact of a conditional answer (a facet, or a condition) -> CRD ``info-needed``; any other
(modality, patient status, purpose, an attestation) is ``OTH``, explained by a ``reason``."""


@dataclass(frozen=True)
class Assertion:
    """What payerkg asserts about one billing code of one draft resource."""

    question: CoverageQuestion
    answer: CoverageAnswer
    coverage_reference: str
    today: date

    @property
    def assertion_id(self) -> str:
        """Traceable to the graph revision that answered, and to the question (never to the patient)."""
        asked = f"{self.question.payer}|{self.question.code}|{self.question.date_of_service}|{self.question}"
        digest = hashlib.sha256(asked.encode()).hexdigest()[:12]
        return f"payerkg:{self.answer.graph_revision}:{self.question.payer}:{self.question.code}:{digest}"

    def open_conditions(self) -> list[str]:
        """What the answer depends on that the request does not settle: the facets its branches
        hold under (``modality``, ``patient-location``) and the conditions still open."""
        found: set[str] = set()
        for item in self.answer.conditions:
            if item.when:
                found |= {facet.id for facet in FACETS if f"{facet.words} is " in item.when}
            if item.id != "branch" and item.status != "met":
                found.add(item.id)
        return sorted(found)


def coverage_information(assertion: Assertion) -> JSONObject | None:
    """The CRD coverage-information extension for an answer, or None when payerkg knows no rule."""
    answer = assertion.answer
    covered = CRD_COVERED.get(answer.determination)
    if covered is None:
        return None
    parts: list[JSONObject] = [
        {"url": "coverage", "valueReference": {"reference": assertion.coverage_reference}},
        {"url": "covered", "valueCode": covered},
    ]
    if answer.documentation:
        parts.append({"url": "doc-needed", "valueCode": "clinical"})
    reasons: list[str] = []
    if covered == "conditional":
        open_ids = assertion.open_conditions() or ["OTH"]
        needed = sorted({INFO_NEEDED.get(i, "OTH") for i in open_ids})
        parts += [{"url": "info-needed", "valueCode": code} for code in needed]
        reasons.append("the answer depends on: " + ", ".join(open_ids))
    elif covered == "not-covered":
        reasons.append(answer.summary)
    parts += _billing_codes(answer)
    parts += [{"url": "reason", "valueCodeableConcept": {"text": text[:1000]}} for text in reasons]
    parts += _details(answer)
    parts += [
        {"url": "date", "valueDate": assertion.today.isoformat()},
        {"url": "coverage-assertion-id", "valueString": assertion.assertion_id},
    ]
    return {"url": COVERAGE_INFORMATION, "extension": parts}


def _system(code: str) -> str:
    return CPT if code[:1].isdigit() else HCPCS


def _billing_codes(answer: CoverageAnswer) -> list[JSONObject]:
    """The procedure code, and a modifier or place of service when the answer requires exactly one."""
    codes: list[JSONObject] = [
        {"url": "billingCode", "valueCoding": {"system": _system(answer.code), "code": answer.code}}
    ]
    for key, system in (("modifiers_required_one_of", None), ("place_of_service_required", POS)):
        items = [item for item in answer.billing.get(key, []) if not item.when]
        if len({item.id for item in items}) == 1:
            code = items[0].id
            coding = {"system": system or _system(code), "code": code, "display": items[0].text[:200]}
            codes.append({"url": "billingCode", "valueCoding": coding})
    return codes


def _detail(category: str, code: str, words: str, value: str, qualification: str | None = None) -> JSONObject:
    parts: list[JSONObject] = [
        {"url": "category", "valueCode": category},
        {
            "url": "code",
            "valueCodeableConcept": {"coding": [{"system": DETAIL_CODES, "code": code}], "text": words},
        },
        {"url": "value", "valueString": value[:1000]},
    ]
    if qualification:
        parts.append({"url": "qualification", "valueString": qualification[:1000]})
    return {"url": "detail", "extension": parts}


def _details(answer: CoverageAnswer) -> list[JSONObject]:
    """Each rule version with its sources, each documentation requirement, each condition not met
    and each billing requirement that is not a single billing code."""
    details = []
    for rule in answer.rules:
        cited = [c for c in answer.citations if c.rule == rule]
        sources = "; ".join(f"{c.title} <{c.url}> ({c.evidence_level}, read {c.accessed})" for c in cited)
        details.append(
            _detail("cat-other", "rule", "payer rule", rule, f"sources: {sources}" if sources else None)
        )
    for item in answer.documentation:
        details.append(
            _detail(
                "cat-limitation", "documentation", "documentation", item.text, f"{item.id}; rule {item.rule}"
            )
        )
    for item in answer.conditions:
        if item.status != "met":
            when = f"; when {item.when}" if item.when else ""
            details.append(
                _detail(
                    "cat-limitation",
                    "condition",
                    "condition",
                    item.text,
                    f"{item.id}; rule {item.rule}{when}",
                )
            )
    for key, items in answer.billing.items():
        for item in items:
            when = f"; when {item.when}" if item.when else ""
            words = key.replace("_", " ")
            details.append(
                _detail("cat-other", "billing", words, f"{item.id}: {item.text}", f"rule {item.rule}{when}")
            )
    return details


def card_detail(answer: CoverageAnswer) -> str:
    """The card's markdown: the answer's summary, conditions, billing, documentation and sources."""
    lines = [answer.summary, ""]
    open_items = [c for c in answer.conditions if c.status != "met"]
    if open_items:
        lines += [
            "**Depends on**",
            *(f"- {c.text}" + (f" (when {c.when})" if c.when else "") for c in open_items),
            "",
        ]
    if answer.billing:
        lines.append("**Bill**")
        for key, items in answer.billing.items():
            lines.append(f"- {key.replace('_', ' ')}: " + " or ".join(f"{i.id} ({i.text})" for i in items))
        lines.append("")
    if answer.documentation:
        lines += [
            "**Document**",
            *(f"- {text}" for text in dict.fromkeys(d.text for d in answer.documentation)),
            "",
        ]
    if answer.citations:
        seen: list[str] = []
        for citation in answer.citations:
            entry = (
                f"- [{citation.title}]({citation.url}) ({citation.evidence_level}, read {citation.accessed})"
            )
            if entry not in seen:
                seen.append(entry)
        lines += ["**Sources**", *seen[:8], ""]
    lines.append(f"Graph revision {answer.graph_revision}.")
    return "\n".join(lines)


def crd_violations(extension: JSONObject) -> list[str]:
    """The constraints of CRD's coverage-information extension an extension breaks: its cardinalities
    and the invariants crd-ci-q2, q3, q5, q6 and q9 (the FHIRPath of each, evaluated on the JSON).

    >>> conditional = [{"url": "covered", "valueCode": "conditional"}]
    >>> crd_violations({"url": COVERAGE_INFORMATION, "extension": conditional})
    ['coverage 1..1', 'date 1..1', 'coverage-assertion-id 1..1', 'crd-ci-q3']
    """
    found: dict[str, list[object]] = {}
    for part in extension.get("extension", []):
        value = next((v for k, v in part.items() if k.startswith("value") or k == "extension"), None)
        found.setdefault(part.get("url", ""), []).append(value)
    problems = [
        f"{name} 1..1"
        for name in ("coverage", "covered", "date", "coverage-assertion-id")
        if len(found.get(name, [])) != 1
    ]
    if extension.get("url") != COVERAGE_INFORMATION:
        problems.insert(0, "url")
    for name in ("pa-needed", "satisfied-pa-id", "expiry-date"):
        if len(found.get(name, [])) > 1:
            problems.append(f"{name} 0..1")
    flags = found.get("covered", []) + found.get("pa-needed", []) + found.get("doc-needed", [])
    if "not-covered" in found.get("covered", []) and "pa-needed" in found:
        problems.append("crd-ci-q2")
    if "conditional" in flags and "info-needed" not in found:
        problems.append("crd-ci-q3")
    if ("satisfied" in found.get("pa-needed", [])) != ("satisfied-pa-id" in found):
        problems.append("crd-ci-q5")
    if "OTH" in found.get("info-needed", []) and "reason" not in found:
        problems.append("crd-ci-q6")
    if "indeterminate" in flags and "reason" not in found:
        problems.append("crd-ci-q9")
    return problems
