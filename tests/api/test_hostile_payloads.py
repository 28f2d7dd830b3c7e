"""Hostile or oversized uploads get a 4xx with a machine-readable code; nothing is fetched.

A canary HTTP server on loopback stands behind every remote reference; it must see no request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from payerkg.validation.encounter import example_encounter
from tests.api.conftest import CanaryServer

TURTLE_ENCOUNTER = Path(__file__).parents[1] / "conformance" / "never-silent" / "conforms-plain-turtle.ttl"
FHIR_BUNDLE = Path(__file__).parents[2] / "docs" / "examples" / "fhir-claim-bundle.json"
FHIR = "application/fhir+json"
X12_EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "claims.837"
X12 = "application/edi-x12"


@pytest.fixture(scope="module")
def canary(canary_server: CanaryServer) -> str:
    return canary_server.url


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    app = create_app(Settings(anonymous_role="integrator"), policy=policy)
    return TestClient(app, raise_server_exceptions=False)


def payloads(canary: str) -> list[tuple[str, bytes, str, int, str]]:
    example = example_encounter()
    cap = Settings().max_encounter_bytes
    billion_laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&lol9;</rdf:RDF>'
    )
    turtle = TURTLE_ENCOUNTER.read_text(encoding="utf-8")  # conforms as it is
    nested_context = dict(example, patient={"@context": canary + "/scoped", "status": "new"})
    return [
        ("billion-laughs-rdfxml", billion_laughs, "application/rdf+xml", 415, "unsupported_format"),
        ("deep-json-100000", b"[" * 100_000 + b"]" * 100_000, "application/json", 422, "too_deep"),
        ("deep-json-200", b"[" * 200 + b"]" * 200, "application/json", 422, "too_deep"),
        ("deep-object-130", ('{"a":' * 130 + "1" + "}" * 130).encode(), "application/json", 422, "too_deep"),
        (
            "remote-context",
            json.dumps(dict(example, **{"@context": canary + "/ctx"})).encode(),
            "application/ld+json",
            422,
            "context_not_allowed",
        ),
        (
            "file-context",
            json.dumps(dict(example, **{"@context": "file:///etc/passwd"})).encode(),
            "application/ld+json",
            422,
            "context_not_allowed",
        ),
        (
            "listed-contexts",
            json.dumps(dict(example, **{"@context": [canary + "/a", canary + "/b"]})).encode(),
            "application/ld+json",
            422,
            "context_not_allowed",
        ),
        (
            "import-in-context",
            json.dumps(dict(example, **{"@context": {"@import": canary + "/i"}})).encode(),
            "application/ld+json",
            422,
            "context_not_allowed",
        ),
        (
            "scoped-context-in-node",
            json.dumps(nested_context).encode(),
            "application/json",
            422,
            "context_not_allowed",
        ),
        (
            "json-ld-without-context",
            json.dumps({k: v for k, v in example.items() if k != "@context"}).encode(),
            "application/ld+json",
            422,
            "context_not_allowed",
        ),
        ("one-byte-over-cap", b" " * (cap + 1), "application/json", 413, "too_large"),
        ("wrong-content-type", json.dumps(example).encode(), "text/plain", 415, "unsupported_format"),
        ("xml-content-type", b"<a/>", "application/xml", 415, "unsupported_format"),
        ("non-utf8", b'{"id": "\xff\xfe"}', "application/json", 422, "parse_error"),
        (
            "nul-byte",
            json.dumps(example).replace('"medicare"', '"medi\\u0000care"').encode()[:-1] + b"\x00}",
            "application/json",
            422,
            "parse_error",
        ),
        ("truncated-json", json.dumps(example).encode()[:40], "application/json", 422, "parse_error"),
        ("not-an-object", b"[1, 2, 3]", "application/json", 422, "invalid_encounter"),
        ("turtle-syntax", b"<urn:a> <urn:b> .", "text/turtle", 422, "parse_error"),
        (
            "turtle-too-many-triples",
            ("\n".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(6000))).encode(),
            "text/turtle",
            413,
            "too_large",
        ),
        (
            "turtle-remote-prefix-is-not-fetched",
            f"@prefix ev: <{canary}/ns#> . ev:a ev:b ev:c .".encode(),
            "text/turtle",
            422,
            "invalid_encounter",
        ),
        (
            "turtle-raw-nul",
            turtle.replace('"home"', '"ho\x00me"').encode(),
            "text/turtle",
            422,
            "parse_error",
        ),
        (
            "turtle-escaped-nul-in-literal",
            turtle.replace('"medicare"', '"medi\\u0000care"').encode(),
            "text/turtle",
            422,
            "parse_error",
        ),
        (
            "turtle-escaped-nul-in-iri",
            turtle.replace("<urn:payerkg:encounter:", "<urn:payerkg:encounter:\\u0000").encode(),
            "text/turtle",
            422,
            "parse_error",
        ),
        (
            "duplicate-key",
            json.dumps(example).replace('{"', '{"payer": "medicare", "', 1).encode(),
            "application/json",
            422,
            "parse_error",
        ),
        (
            "duplicate-key-nested",
            b'{"patient": {"status": "new", "status": "established"}}',
            "application/json",
            422,
            "parse_error",
        ),
        (
            "extra-fields-with-phi",
            json.dumps(dict(example, ssn="123-45-6789")).encode(),
            "application/json",
            422,
            "invalid_encounter",
        ),
    ]


def fhir_payloads(canary: str) -> list[tuple[str, bytes, str, int, str]]:
    """FHIR claims that are too deep, too repetitive, of the wrong type, or carry what must not echo."""
    example = json.loads(FHIR_BUNDLE.read_text())
    claim = example["entry"][0]["resource"]
    item = claim["item"][0]

    def with_claim(**changes: object) -> bytes:
        document = json.loads(FHIR_BUNDLE.read_text())
        document["entry"][0]["resource"].update(changes)
        return json.dumps(document).encode()

    def nested_bundles(levels: int) -> bytes:
        text = '{"resourceType": "Bundle", "type": "collection"}'
        for _ in range(levels):
            text = '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": ' + text + "}]}"
        return text.encode()

    modifier = item["modifier"][0]
    phi_patient = {"resourceType": "Patient", "id": "p", "ssn": "123-45-6789"}
    return [
        ("fhir-deep-bundle", nested_bundles(45), FHIR, 422, "too_deep"),
        ("fhir-nested-bundles-within-depth", nested_bundles(25), FHIR, 422, "invalid_claim"),
        (
            "fhir-huge-modifier-repeat",
            with_claim(item=[dict(item, modifier=[modifier] * 2500)]),
            FHIR,
            422,
            "invalid_claim",
        ),
        ("fhir-huge-item-repeat", with_claim(item=[item] * 500), FHIR, 422, "invalid_claim"),
        ("fhir-one-byte-over-cap", b" " * (Settings().max_encounter_bytes + 1), FHIR, 413, "too_large"),
        (
            "fhir-as-xml",
            b"<Bundle xmlns='http://hl7.org/fhir'/>",
            "application/fhir+xml",
            415,
            "unsupported_format",
        ),
        ("fhir-as-text-plain", FHIR_BUNDLE.read_bytes(), "text/plain", 415, "unsupported_format"),
        ("fhir-broken-json", FHIR_BUNDLE.read_bytes()[:300], FHIR, 422, "parse_error"),
        ("fhir-not-a-claim", b'{"resourceType": "Patient"}', FHIR, 422, "invalid_claim"),
        (
            "fhir-remote-insurer-is-not-fetched",
            with_claim(
                insurer={"reference": canary + "/Organization/1"},
                insurance=[{"sequence": 1, "focal": True, "coverage": {"reference": canary + "/Coverage/1"}}],
            ),
            FHIR,
            422,
            "invalid_claim",
        ),
        (
            "fhir-unknown-payer",
            with_claim(insurer={"identifier": {"system": canary, "value": "99999"}}),
            FHIR,
            422,
            "unknown_payer_identifier",
        ),
        (
            "fhir-extra-element-with-phi",
            json.dumps(dict(example, entry=[*example["entry"], {"resource": phi_patient}])).encode(),
            FHIR,
            422,
            "invalid_claim",
        ),
        (
            "fhir-phi-in-a-date",
            with_claim(item=[dict(item, servicedDate="123-45-6789")]),
            FHIR,
            422,
            "invalid_claim",
        ),
    ]


def x12_payloads() -> list[tuple[str, bytes, str, int, str]]:
    """837P files with broken envelopes, huge repeats, the wrong content type, or what must not echo."""
    text = X12_EXAMPLE.read_text()
    lines = "".join(f"LX*{n}~\nSV1*HC:99213:95*120*UN*1***1~\nDTP*472*D8*20240301~\n" for n in range(2, 3002))
    repeated = text.replace("DTP*472*D8*20240301~\nHL*3", "DTP*472*D8*20240301~\n" + lines + "HL*3", 1)
    repeated = repeated.replace("SE*40*", f"SE*{40 + 3 * 3000}*")
    cap = Settings().anonymous_max_batch_bytes
    return [
        ("x12-se-count", text.replace("SE*40*", "SE*41*").encode(), X12, 422, "invalid_claim"),
        ("x12-ge-count", text.replace("GE*1*1", "GE*7*1").encode(), X12, 422, "invalid_claim"),
        ("x12-missing-iea", text.replace("IEA*1*000000001~\n", "").encode(), X12, 422, "invalid_claim"),
        (
            "x12-iea-control-number",
            text.replace("IEA*1*000000001", "IEA*1*999999999").encode(),
            X12,
            422,
            "invalid_claim",
        ),
        (
            "x12-not-837p",
            text.replace("ST*837*0001*005010X222A1", "ST*835*0001*005010X221A1").encode(),
            X12,
            422,
            "invalid_claim",
        ),
        ("x12-not-x12", b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER'", X12, 422, "invalid_claim"),
        ("x12-huge-line-repeat", repeated.encode(), X12, 422, "invalid_claim"),
        (
            "x12-huge-segment-with-phi",
            text.replace("PI*87726", "PI*123-45-6789" + "9" * 200_000, 1).encode(),
            X12,
            422,
            "invalid_claim",
        ),
        (
            "x12-empty-segment",
            text.replace("N3*2 ELM ST~", "N3*2 ELM ST~~", 1).encode(),
            X12,
            422,
            "invalid_claim",
        ),
        (
            "x12-phi-as-payer-id",
            text.replace("PI*87726", "PI*123-45-6789", 1).encode(),
            X12,
            422,
            "unknown_payer_identifier",
        ),
        ("x12-one-byte-over-cap", b"I" * (cap + 1), X12, 413, "too_large"),
        ("x12-binary", b"\xff\xfe\x00ISA", X12, 422, "parse_error"),
        ("x12-nul", text.replace("DOE", "D\x00E", 1).encode(), X12, 422, "parse_error"),
        ("x12-as-text-plain", text.encode(), "text/plain", 415, "unsupported_format"),
        ("x12-as-edifact", text.encode(), "application/edifact", 415, "unsupported_format"),
        ("x12-as-json", text.encode(), "application/json", 422, "parse_error"),
    ]


def test_corpus(client: TestClient, canary: str, canary_server: CanaryServer) -> None:
    failures = []
    warm = client.post("/validate", content=FHIR_BUNDLE.read_bytes(), headers={"content-type": FHIR})
    assert warm.status_code == 200
    for name, body, content_type, status, code in payloads(canary) + fhir_payloads(canary) + x12_payloads():
        response = client.post("/validate", content=body, headers={"content-type": content_type})
        problem = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/problem")
            else {}
        )
        if response.status_code != status or problem.get("code") != code:
            failures.append((name, response.status_code, problem.get("code")))
        assert "123-45-6789" not in response.text
        assert canary not in response.text, f"{name}: the problem repeats a submitted URL"
    assert failures == [], failures
    assert canary_server.hits == [], "a document made the service fetch something"
