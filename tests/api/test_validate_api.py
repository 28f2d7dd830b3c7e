"""POST /validate and /validate/batch on the real graph and real pyshacl."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import SH

from payerkg.api.app import create_app
from payerkg.api.validation import INLINE_MAX_BYTES, STREAM_CHUNK_LINES
from payerkg.graph.dataset import PolicyGraph
from payerkg.services import validation
from payerkg.settings import Settings
from payerkg.validation.encounter import example_encounter


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))


def post(
    client: TestClient, body: object, content_type: str = "application/json", accept: str = "application/json"
) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response: httpx.Response = client.post(
        "/validate", content=data, headers={"content-type": content_type, "accept": accept}
    )
    return response


def test_published_example_conforms(client: TestClient) -> None:
    example = client.get("/encounter/example.json").json()
    body = post(client, example).json()
    assert body["no_violations"] is True and body["findings"] == []
    assert body["engine"] == "compiled"


def test_non_conforming_is_200_with_findings_naming_rule_field_and_source(client: TestClient) -> None:
    bad = dict(example_encounter(), lines=[{"code": "99214", "modifiers": ["95"], "place_of_service": "11"}])
    response = post(client, bad)
    assert response.status_code == 200
    body = response.json()
    assert body["no_violations"] is False
    fields = {f["field"]: f for f in body["findings"]}
    assert fields["lines[0].place_of_service"]["rule"].endswith("medicare-telehealth-pos-home-2025")
    assert fields["lines[0].modifiers"]["citations"][0]["url"].startswith("https://")
    assert all(f["focus_node"] and f["source_shape"] for f in body["findings"])


def test_plain_json_json_ld_and_turtle_describe_the_same_encounter(client: TestClient) -> None:
    example = example_encounter()
    plain = {k: v for k, v in example.items() if k != "@context"}
    turtle = """
        @prefix pk: <https://w3id.org/payerkg/ontology#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <urn:payerkg:encounter:example-audio-only-2025> pk:encounterPayer "medicare" ;
            pk:dateOfService "2025-05-01"^^xsd:date ; pk:encounterModality "audio-only" ;
            pk:patient [ pk:patientStatus "established" ] ;
            pk:patientLocation [ pk:setting "home" ; pk:rural false ; pk:state "FL" ] ;
            pk:practitioner [ pk:practitionerType "physician" ] ;
            pk:documentationPresent "audio-only-reason" , "patient-location" ,
                "practitioner-video-capable" , "patient-declines-video" ;
            pk:line [ pk:code "99214" ; pk:modifier "95" ; pk:posCode "10" ; pk:minutes 32 ; pk:units 1 ;
                      pk:lineNumber 0 ] .
    """
    as_json = post(client, dict(plain, lines=[dict(plain["lines"][0], modifiers=["95"])])).json()
    as_ld = post(
        client, dict(example, lines=[dict(plain["lines"][0], modifiers=["95"])]), "application/ld+json"
    ).json()
    as_ttl = post(client, turtle.encode(), "text/turtle").json()
    shape = [sorted((f["rule"], f["field"]) for f in body["findings"]) for body in (as_json, as_ld, as_ttl)]
    assert shape[0] == shape[1] == shape[2] != []


def test_w3c_report_by_accept(client: TestClient) -> None:
    bad = dict(example_encounter(), lines=[{"code": "99214", "place_of_service": "10"}])
    response = post(client, bad, accept="text/turtle")
    assert response.headers["content-type"].startswith("text/turtle")
    report = Graph().parse(data=response.text, format="turtle")
    assert (None, SH.conforms, None) in report and len(list(report.subjects(SH.resultSeverity, None))) >= 1
    as_ld = post(client, bad, accept="application/ld+json")
    assert as_ld.headers["content-type"].startswith("application/ld+json")


def test_batch_streams_one_record_per_line_and_survives_bad_lines(client: TestClient) -> None:
    good = json.dumps(example_encounter())
    bad = json.dumps(
        dict(example_encounter(), lines=[{"code": "99442", "modifiers": ["93"], "place_of_service": "10"}])
    )
    body = "\n".join([good, "{not json", bad, ""]).encode()
    response = client.post("/validate/batch", content=body, headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3]
    assert records[0]["no_violations"] is True
    assert records[1]["error"]["code"] == "parse_error"
    assert records[2]["no_violations"] is False


def test_a_long_batch_answers_every_line_once_in_order(client: TestClient) -> None:
    good = json.dumps(example_encounter())
    lines = [good if number % 7 else "{not json" for number in range(1, 2 * STREAM_CHUNK_LINES + 12)]
    body = "\n".join(lines).encode()
    response = client.post("/validate/batch", content=body, headers={"content-type": "application/x-ndjson"})
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    assert [r["line"] for r in records if "error" in r] == list(range(7, len(lines) + 1, 7))


@pytest.mark.parametrize("size", ["small", "past the inline size"])
def test_the_verdict_is_written_as_json_response_writes_its_fields(
    client: TestClient, policy: PolicyGraph, size: str
) -> None:
    """The bytes JSONResponse writes for ``to_dict()``, whichever path judged the encounter."""
    encounter = dict(
        example_encounter(), lines=[{"code": "99442", "modifiers": ["93"], "place_of_service": "10"}]
    )
    text = json.dumps(encounter) + ("" if size == "small" else " " * INLINE_MAX_BYTES)
    response = post(client, text.encode())
    assert response.json()["findings"]  # a verdict with findings, not only an empty one
    assert response.content == as_json_response(response.json())
    result = validation.validate(policy, text.encode(), "application/json")  # new blank nodes
    assert orjson.dumps(result.verdict()) == as_json_response(result.to_dict())


def as_json_response(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def test_format_is_published(client: TestClient) -> None:
    assert client.get("/encounter/context.jsonld").json()["@context"]["code"] == "pk:code"
    assert client.get("/encounter/schema.json").json()["required"] == [
        "id",
        "payer",
        "date_of_service",
        "lines",
    ]
    assert "/validate" in client.get("/openapi.json").json()["paths"]


NEVER_SILENT = Path(__file__).parents[1] / "conformance" / "never-silent"
EXPECTED = json.loads((NEVER_SILENT / "expected.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_never_silent_over_http(client: TestClient, name: str) -> None:
    """Typed text, unknown payers and unknown codes are findings over HTTP too (issue 14)."""
    path = NEVER_SILENT / name
    media = "text/turtle" if path.suffix == ".ttl" else "application/json"
    response = post(client, path.read_bytes(), media)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = EXPECTED[name]
    assert body["no_violations"] is expected["conforms"]
    assert sorted(f["field"] for f in body["findings"]) == sorted(f[0] for f in expected["findings"])
    if "names" in expected:
        assert any(expected["names"] in f["message"] for f in body["findings"])


def test_batch_reports_unknown_payer_and_code(client: TestClient) -> None:
    lines = [
        json.loads((NEVER_SILENT / n).read_text())
        for n in ("violates-unknown-payer.json", "violates-unknown-code.json")
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    response = client.post("/validate/batch", content=body, headers={"content-type": "application/x-ndjson"})
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["no_violations"] for r in records] == [False, False]
    assert "payer medicre" in records[0]["findings"][0]["message"]
    assert "code 99999" in records[1]["findings"][0]["message"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle;q=0, application/json;q=0.5", "application/json"),
        ("text/turtle;q=0, */*", "application/json"),
        ("application/ld+json;q=0.9, text/turtle", "text/turtle"),
        ("*/*;q=0.1, application/ld+json", "application/ld+json"),
        ("", "application/json"),
    ],
)
def test_the_answer_format_is_negotiated_with_quality_values(
    client: TestClient, accept: str, expected: str
) -> None:
    response = post(client, example_encounter(), accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected


def test_an_answer_in_no_acceptable_format_is_406(client: TestClient) -> None:
    response = post(client, example_encounter(), accept="text/turtle;q=0, application/json;q=0")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
