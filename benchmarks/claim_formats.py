"""The benchmark encounters written as integrators send them: one 837P interchange of many claims,
and one FHIR R4 Bundle per encounter (docs/x12.md, docs/fhir.md)."""

from __future__ import annotations

from typing import Any

TAXONOMY = {
    "physician": "207Q00000X",
    "nurse-practitioner": "363L00000X",
    "clinical-social-worker": "1041C0700X",
}
PAYER_ID = {"medicare": "medicare"}  # no Medicare electronic payer ID is confirmed (docs/fhir.md)
CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NUCC = "http://nucc.org/provider-taxonomy"


def to_837p(encounters: list[dict[str, Any]]) -> str:
    """One ISA/GS/ST interchange holding one subscriber loop and one claim per encounter."""
    body = [
        "BHT*0019*00*0123*20250502*1200*CH",
        "NM1*41*2*BENCH CLINIC*****46*TGJ23",
        "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*BENCH CLEARINGHOUSE*****46*66783JJT",
        "HL*1**20*1",
        "PRV*BI*PXC*207Q00000X",
        "NM1*85*2*BENCH CLINIC*****XX*1234567893",
        "N3*1 MAIN ST",
        "N4*TAMPA*FL*336010000",
        "REF*EI*123456789",
    ]
    for number, encounter in enumerate(encounters, start=2):
        lines = encounter["lines"]
        day = encounter["date_of_service"].replace("-", "")
        pos = lines[0].get("place_of_service", "11")
        body += [
            f"HL*{number}*1*22*0",
            "SBR*P*18*******MB",
            f"NM1*IL*1*DOE*JANE****MI*M{number:09d}",
            "N3*2 ELM ST",
            "N4*TAMPA*FL*336020000",
            "DMG*D8*19500101*F",
            f"NM1*PR*2*PAYER*****PI*{PAYER_ID[encounter['payer']]}",
            f"CLM*{encounter['id']}*100***{pos}:B:1*Y*A*Y*Y",
            "HI*ABK:F329",
            "NM1*82*1*SMITH*JOHN****XX*1234567891",
            f"PRV*PE*PXC*{TAXONOMY[encounter['practitioner']['type']]}",
        ]
        for k, line in enumerate(lines, start=1):
            composite = ":".join(["HC", line["code"], *line.get("modifiers", [])])
            own_pos = line.get("place_of_service", "")
            body += [f"LX*{k}", f"SV1*{composite}*100*UN*1*{own_pos}**1", f"DTP*472*D8*{day}"]
    segments = ["ST*837*0001*005010X222A1", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    parties = "ZZ*BENCH          *ZZ*RECEIVER       "
    isa = f"ISA*00*          *00*          *{parties}*250502*1200*^*00501*000000001*0*T*:"
    envelope = [
        isa,
        "GS*HC*BENCH*RECEIVER*20250502*1200*1*X*005010X222A1",
        *segments,
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(envelope) + "~\n"


def to_fhir_bundle(encounter: dict[str, Any]) -> dict[str, Any]:
    """A Bundle with the Claim, its Patient, insurer Organization and PractitionerRole."""
    items = []
    for k, line in enumerate(encounter["lines"], start=1):
        item: dict[str, Any] = {
            "sequence": k,
            "productOrService": {"coding": [{"system": CPT, "code": line["code"]}]},
            "servicedDate": encounter["date_of_service"],
        }
        if line.get("modifiers"):
            item["modifier"] = [{"coding": [{"system": CPT, "code": m}]} for m in line["modifiers"]]
        if line.get("place_of_service"):
            item["locationCodeableConcept"] = {"coding": [{"system": POS, "code": line["place_of_service"]}]}
        items.append(item)
    documentation = [
        {
            "sequence": k,
            "category": {"coding": [{"system": "https://w3id.org/payerkg/documentation", "code": d}]},
        }
        for k, d in enumerate(encounter.get("documentation", []), start=1)
    ]
    claim = {
        "resourceType": "Claim",
        "id": encounter["id"],
        "status": "active",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]
        },
        "use": "claim",
        "patient": {"reference": "Patient/p"},
        "created": encounter["date_of_service"],
        "insurer": {"identifier": {"system": "https://w3id.org/payerkg/payer", "value": encounter["payer"]}},
        "provider": {"reference": "PractitionerRole/r"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "plan"}}],
        "item": items,
        **({"supportingInfo": documentation} if documentation else {}),
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "r",
        "code": [{"coding": [{"system": NUCC, "code": TAXONOMY[encounter["practitioner"]["type"]]}]}],
    }
    patient = {"resourceType": "Patient", "id": "p", "address": [{"use": "home", "state": "FL"}]}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": claim}, {"resource": patient}, {"resource": role}],
    }
