"""FHIR R4 claims read as encounters (docs/fhir.md): the shipped examples, the mapping's decisions
and refusals, and the crosswalk tables held equal to the graph and to the documentation."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from payerkg.errors import InvalidClaim, TooDeep, UnknownPayerIdentifier
from payerkg.graph.catalog import PayerIdentifiers, payer_identifiers
from payerkg.graph.dataset import PolicyGraph
from payerkg.services.coverage import facet_values
from payerkg.settings import Settings
from payerkg.validation.formats.fhir import operation_outcome, read_fhir_claim
from payerkg.validation.formats.mapped import MappedResult, crosswalks, validate_mapped

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
BUNDLE = EXAMPLES / "fhir-claim-bundle.json"
NONCONFORMING = EXAMPLES / "fhir-claim-nonconforming.json"


def bundle() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(BUNDLE.read_text())
    return document


def claim_of(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = document["entry"][0]["resource"]
    return entry


def judge(policy: PolicyGraph, document: dict[str, Any]) -> MappedResult:
    mapped = read_fhir_claim(json.dumps(document).encode(), payer_identifiers(policy))
    return validate_mapped(policy, mapped, Settings().encounter_limits())


def test_the_example_bundle_reads_as_the_documented_encounter_and_conforms(policy: PolicyGraph) -> None:
    answer = judge(policy, bundle())
    assert answer.mapped.document == {
        "id": "example-fhir-audio-only-2025",
        "payer": "medicare",
        "date_of_service": "2025-05-01",
        "lines": [{"code": "99214", "modifiers": ["93"], "place_of_service": "10", "units": 1}],
        "modality": "audio-only",
        "patient": {"status": "established"},
        "patient_location": {"setting": "home", "state": "FL"},
        "practitioner": {"type": "physician"},
        "documentation": [
            "audio-only-reason",
            "patient-location",
            "practitioner-video-capable",
            "patient-declines-video",
        ],
    }
    assert answer.result.no_violations
    assert [f.field for f in answer.result.findings] == ["patient_location.rural"]


def test_the_nonconforming_claim_points_at_its_place_of_service(policy: PolicyGraph) -> None:
    answer = judge(policy, json.loads(NONCONFORMING.read_text()))
    assert answer.mapped.document["payer"] == "medicare"  # the payerkg payer id on a contained Organization
    assert answer.mapped.document["practitioner"] == {"type": "nurse-practitioner"}
    assert answer.mapped.document["patient_location"] == {"setting": "home", "state": "FL"}
    outcome = operation_outcome(answer, answer.result)
    errors = {issue["expression"][0]: issue for issue in outcome["issue"] if issue["severity"] == "error"}
    pos = errors["Claim.item[0].locationCodeableConcept"]
    rule = "https://w3id.org/payerkg/rule-version/medicare-telehealth-pos-home-2025"
    assert pos["code"] == "business-rule"
    assert pos["details"]["coding"] == [{"system": "https://w3id.org/payerkg/rule", "code": rule}]
    assert pos["diagnostics"].startswith(f"rule {rule}; source: ")
    assert "place_of_service must be 10" in pos["details"]["text"]
    assert "Claim.supportingInfo" in errors  # the documentation the audio-video rule asks for


@pytest.mark.parametrize(
    ("modifiers", "pos", "encounter_class", "modality"),
    [
        (["95"], "11", "VR", "audio-video"),
        (["GT"], "02", None, "audio-video"),
        (["FQ"], "10", None, "audio-only"),
        (["GQ"], "02", None, "asynchronous"),
        ([], "11", "AMB", "in-person"),
        ([], "11", None, "in-person"),
        ([], "10", None, None),  # telehealth at home, but how?
        ([], "11", "VR", None),  # a virtual encounter billed without a modifier
        (["95", "93"], "10", None, None),  # modifiers that disagree
    ],
)
def test_modality_is_read_as_far_as_the_claim_decides_it(
    policy: PolicyGraph, modifiers: list[str], pos: str, encounter_class: str | None, modality: str | None
) -> None:
    document = bundle()
    item = claim_of(document)["item"][0]
    item["modifier"] = [
        {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": m}]} for m in modifiers
    ]
    item["locationCodeableConcept"]["coding"][0]["code"] = pos
    if encounter_class is None:  # no Encounter (its class is required in R4)
        document["entry"] = [e for e in document["entry"] if e["resource"]["resourceType"] != "Encounter"]
        del item["encounter"]
    else:
        document["entry"][-1]["resource"]["class"]["code"] = encounter_class
    answer = judge(policy, document)
    assert answer.mapped.document.get("modality") == modality
    open_fields = [f.field for f in answer.result.findings if f.constraint.endswith("#not-decided")]
    assert ("modality" in open_fields) == (modality is None)
    if modality is None:  # the format's own check still says a modality is needed
        assert any(f.field == "modality" and f.severity == "violation" for f in answer.result.findings)


def test_facts_the_claim_does_not_decide_are_warnings_not_guesses(policy: PolicyGraph) -> None:
    document = bundle()
    claim = claim_of(document)
    claim["item"][0]["productOrService"]["coding"][0]["code"] = "99457"  # no new/established descriptor
    claim["item"][0]["locationCodeableConcept"]["coding"][0]["code"] = "02"
    document["entry"] = [e for e in document["entry"] if e["resource"]["resourceType"] != "Location"]
    role = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "PractitionerRole"
    )
    role["code"][0]["coding"][0]["code"] = "174400000X"  # a specialist taxonomy no type matches
    document["entry"] = [e for e in document["entry"] if e["resource"]["resourceType"] != "Practitioner"]
    answer = judge(policy, document)
    assert "patient" not in answer.mapped.document
    assert "setting" not in answer.mapped.document.get("patient_location", {})
    assert "practitioner" not in answer.mapped.document
    notes = {f.field: f for f in answer.result.findings if f.constraint.endswith("#not-decided")}
    assert {
        "patient.status",
        "patient_location.setting",
        "patient_location.state",
        "practitioner.type",
    } <= set(notes)
    assert all(f.severity == "warning" and f.rule is None for f in notes.values())
    assert "174400000X" in notes["practitioner.type"].message
    assert answer.mapped.location("practitioner.type") == "PractitionerRole.code"


def test_a_claim_alone_and_the_same_claim_in_a_bundle_read_alike(policy: PolicyGraph) -> None:
    document = json.loads(NONCONFORMING.read_text())
    contained = document.pop("contained")
    for resource in contained:
        for key in ("patient", "provider"):
            if key in document and document[key]["reference"] == "#" + resource["id"]:
                document[key]["reference"] = f"{resource['resourceType']}/{resource['id']}"
    text = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []})
    as_bundle = json.loads(text)
    refs = {"#" + r["id"]: f"{r['resourceType']}/{r['id']}" for r in contained}
    body = json.dumps([document, *contained])
    for old, new in refs.items():
        body = body.replace(f'"{old}"', f'"{new}"')
    as_bundle["entry"] = [{"resource": resource} for resource in json.loads(body)]
    alone = judge(policy, json.loads(NONCONFORMING.read_text()))
    bundled = judge(policy, as_bundle)
    assert bundled.mapped.document == alone.mapped.document
    assert [f.message for f in bundled.result.findings] == [f.message for f in alone.result.findings]


def refused(document: object, payer_ids: PayerIdentifiers) -> InvalidClaim:
    with pytest.raises(InvalidClaim) as caught:
        read_fhir_claim(json.dumps(document).encode(), payer_ids)
    return caught.value


def test_invalid_fhir_is_refused_naming_the_element(payer_ids: PayerIdentifiers) -> None:
    document = bundle()
    claim_of(document)["item"][0]["servicedDate"] = "2025-13-45"
    error = refused(document, payer_ids)
    assert error.pointer == "Bundle.entry[0].resource.item[0].servicedDate"
    assert "2025-13-45" not in error.message
    document = bundle()
    claim_of(document)["item"][0]["colour"] = "blue"
    assert refused(document, payer_ids).pointer == "Bundle.entry[0].resource.item[0].colour"
    document = bundle()
    del claim_of(document)["patient"]
    assert refused(document, payer_ids).pointer == "Bundle.entry[0].resource.patient"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (
            lambda c: c["item"][0]["productOrService"]["coding"][0].update(system="http://loinc.org"),
            "Claim.item[0].productOrService",
        ),
        (
            lambda c: c["item"][0]["modifier"][0]["coding"][0].update(system="urn:x"),
            "Claim.item[0].modifier[0]",
        ),
        (
            lambda c: c["item"][0]["locationCodeableConcept"]["coding"][0].update(system="urn:x"),
            "Claim.item[0].locationCodeableConcept",
        ),
        (lambda c: c["item"][0].update(servicedDate="2025-05"), "Claim.item[0].servicedDate"),
        (
            lambda c: c["item"].append(
                dict(copy.deepcopy(c["item"][0]), sequence=2, servicedDate="2025-05-02")
            ),
            "Claim.item[1].servicedDate",
        ),
        (lambda c: c.update(item=[]), "Claim.item"),
        (lambda c: c.pop("insurer"), "Claim.insurer"),  # the Coverage names the same payer: fine
    ],
)
def test_what_the_mapping_cannot_read_is_refused_naming_the_element(
    change: Any, pointer: str, payer_ids: PayerIdentifiers
) -> None:
    document = bundle()
    change(claim_of(document))
    if pointer == "Claim.insurer":
        assert (
            read_fhir_claim(json.dumps(document).encode(), payer_ids).locations["payer"]
            == "Coverage.payor[0]"
        )
        return
    assert refused(document, payer_ids).pointer == pointer


def test_an_unknown_payer_identifier_is_refused(payer_ids: PayerIdentifiers) -> None:
    document = bundle()
    organization = document["entry"][2]["resource"]
    organization["identifier"] = [{"system": "https://example.org/payer-id", "value": "99999"}]
    error = refused(document, payer_ids)
    assert isinstance(error, UnknownPayerIdentifier)
    assert error.pointer == "Claim.insurer"
    for entry in document["entry"]:
        if entry["resource"]["resourceType"] == "Organization":
            entry["resource"]["identifier"] = []
    assert refused(document, payer_ids).code == "invalid_claim"


def test_other_resources_and_bundles_without_one_claim_are_refused(payer_ids: PayerIdentifiers) -> None:
    assert refused({"resourceType": "Patient"}, payer_ids).pointer == "resourceType"
    assert refused([1, 2], payer_ids).pointer == "body"
    two = bundle()
    two["entry"].append(copy.deepcopy(two["entry"][0]))
    assert refused(two, payer_ids).pointer == "Bundle.entry"
    with pytest.raises(TooDeep):
        read_fhir_claim(b'{"resourceType": "Bundle", "entry": ' + b"[" * 200 + b"]" * 200 + b"}", payer_ids)


def test_crosswalk_targets_are_the_graphs_values(policy: PolicyGraph) -> None:
    walk = crosswalks()
    values = facet_values(policy)
    assert {kind for _, kind in walk.taxonomy_prefixes} <= set(values["practitioner_type"])
    assert set(walk.modality_modifiers.values()) <= set(values["modality"])
    assert {s for _, _, s in walk.status_ranges} == set(values["patient_status"])


def test_the_documented_tables_are_the_crosswalks_and_the_graphs_identifiers(
    payer_ids: PayerIdentifiers,
) -> None:
    text = (ROOT / "docs" / "fhir.md").read_text()
    rows = re.findall(
        r"^\| `([0-9A-Z]{5})` \| (electronic payer ID|NAIC company code) \| `([a-z-]+)`", text, re.M
    )
    assert {v: p for v, kind, p in rows if kind == "electronic payer ID"} == payer_ids.electronic_ids
    assert {v: p for v, kind, p in rows if kind == "NAIC company code"} == payer_ids.naic_codes
    taxonomy_table = text.split("### NUCC taxonomy")[1].split("## ")[0]
    documented = {
        prefix: kind
        for prefixes, kind in re.findall(
            r"^\| (`[0-9A-Z]+`(?:, `[0-9A-Z]+`)*).*? \| `([a-z-]+)` \|$", taxonomy_table, re.M
        )
        for prefix in re.findall(r"`([0-9A-Z]+)`", prefixes)
    }
    assert documented == dict(crosswalks().taxonomy_prefixes)
