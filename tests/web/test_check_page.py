"""The Validate page (``/check``): encounters posted as a form, findings shown or downloaded, the
same verdicts as ``POST /validate`` and ``POST /validate/batch``, refusals shown on the form."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from payerkg.web import validation as validate_page
from payerkg.web.rendering import PAGE_POLICY
from tests.support.html import Element, parse_html

DAY = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "day.ndjson").read_bytes()


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    app = create_app(Settings(anonymous_role="integrator"), policy=policy)
    return TestClient(app, raise_server_exceptions=False)


def findings(response_text: str) -> list[list[str]]:
    table: Element = parse_html(response_text).one("table", cls="findings")
    return [[cell.text for cell in row.find_all("td")] for row in table.one("tbody").find_all("tr")]


def without_blank_nodes(record: dict[str, object]) -> dict[str, object]:
    """A batch record with its findings' focus nodes (blank node ids, new on every run) left out."""
    found = record.get("findings")
    if isinstance(found, list):
        return record | {"findings": [{k: v for k, v in f.items() if k != "focus_node"} for f in found]}
    return record


def test_one_encounter_gets_the_apis_verdict_with_field_rule_and_sources(client: TestClient) -> None:
    encounter = json.loads(DAY.splitlines()[1])  # an audio-only office visit in 2024: not covered
    api = client.post("/validate", json=encounter).json()
    response = client.post("/check", data={"format": "json", "text": json.dumps(encounter)})
    assert response.status_code == 200
    rows = findings(response.text)
    assert [(r[2], r[3], r[4]) for r in rows] == [
        (f["severity"], f["field"], f["message"]) for f in api["findings"]
    ]
    assert all(r[1] == "does-not-conform" for r in rows)
    page = parse_html(response.text)
    sources = [a.attrs["href"] for a in page.one("table", cls="findings").find_all("a", cls="source")]
    assert sources == [c["url"] for f in api["findings"] for c in f["citations"]]


def test_a_batch_upload_gives_a_row_per_finding_and_downloads(client: TestClient) -> None:
    streamed = client.post("/validate/batch", content=DAY, headers={"content-type": "application/x-ndjson"})
    expected = [json.loads(line) for line in streamed.text.splitlines()]
    upload = {"file": ("day.ndjson", DAY, "application/x-ndjson")}
    page = client.post("/check", data={"format": "ndjson"}, files=upload)
    title = parse_html(page.text).one("h2", id="findings-title").text
    passed = sum(1 for r in expected if r.get("no_violations"))
    assert title.startswith(f"{len(expected)} encounters: {passed} without violations")
    lines = {int(r[0]) for r in findings(page.text)}
    assert lines == {r["line"] for r in expected}

    ndjson = client.post("/check", data={"format": "ndjson", "as": "ndjson"}, files=upload)
    assert "attachment" in ndjson.headers["content-disposition"]
    assert [without_blank_nodes(json.loads(line)) for line in ndjson.text.splitlines()] == [
        without_blank_nodes(r) for r in expected
    ]
    table = client.post("/check", data={"format": "ndjson", "as": "csv"}, files=upload)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    violations = [f for r in expected for f in r.get("findings", [])]
    assert [r["message"] for r in rows if r["severity"] == "violation"] == [
        f["message"] for f in violations if f["severity"] == "violation"
    ]


def test_a_batch_page_streams_its_progress_before_its_findings(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate_page, "PROGRESS_S", 0.0)  # a progress line after every encounter
    upload = {"file": ("day.ndjson", DAY, "application/x-ndjson")}
    with client.stream("POST", "/check", data={"format": "ndjson"}, files=upload) as response:
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == PAGE_POLICY
        assert response.headers["cache-control"] == "no-store"
        chunks = list(response.iter_text())
    total = len(DAY.splitlines())
    counts = [[int(n) for n in re.findall(r"(\d+) of 7 encounters judged", chunk)] for chunk in chunks]
    assert counts == [[n] for n in range(total + 1)]  # the form with 0 of 7, then one line per encounter
    assert 'id="check-form"' in chunks[0] and 'id="progress"' in chunks[0]
    assert all('id="findings"' not in chunk for chunk in chunks[:-1])
    assert 'id="findings"' in chunks[-1] and chunks[-1].rstrip().endswith("</html>")
    page = parse_html("".join(chunks))
    assert "7 of 7 encounters judged: done" in page.one("ol", cls="progress").text
    assert all(bar.attrs["aria-label"] for bar in page.find_all("progress"))


def test_the_download_links_hold_the_same_findings_as_the_download_buttons(client: TestClient) -> None:
    upload = {"file": ("day.ndjson", DAY, "application/x-ndjson")}
    links = parse_html(client.post("/check", data={"format": "ndjson"}, files=upload).text).one(
        id="downloads"
    )

    def linked(kind: str) -> str:
        href = links.one("a", id=f"download-{kind}").attrs["href"]
        head, _, data = href.partition(",")
        assert head.startswith("data:") and head.endswith(";charset=utf-8;base64")
        return base64.b64decode(data).decode("utf-8")

    as_csv = client.post("/check", data={"format": "ndjson", "as": "csv"}, files=upload).text
    assert linked("csv") == as_csv
    as_ndjson = client.post("/check", data={"format": "ndjson", "as": "ndjson"}, files=upload).text
    assert [without_blank_nodes(json.loads(line)) for line in linked("ndjson").splitlines()] == [
        without_blank_nodes(json.loads(line)) for line in as_ndjson.splitlines()
    ]
    one = client.post("/check", data={"format": "json", "text": DAY.splitlines()[1].decode()})
    assert (
        parse_html(one.text).one(id="downloads").one("a", id="download-csv").attrs["download"]
        == "findings.csv"
    )


def test_a_batch_over_the_callers_limit_is_refused_on_the_form_before_any_progress(
    policy: PolicyGraph,
) -> None:
    small = TestClient(
        create_app(Settings(anonymous_role="integrator", anonymous_max_batch_bytes=1000), policy=policy)
    )
    response = small.post("/check", data={"format": "ndjson"}, files={"file": ("day.ndjson", DAY, "x")})
    assert response.status_code == 413
    page = parse_html(response.text)
    assert "(too_large)" in page.one(id="error-file").text
    assert page.find_all(id="progress") == []


@pytest.mark.parametrize(
    ("form", "status", "field", "code"),
    [
        ({"format": "turtle", "text": "this is not { turtle"}, 422, "text", "parse_error"),
        ({"format": "json", "text": "{"}, 422, "text", "parse_error"),
        ({"format": "json", "text": "x" * 300_000}, 413, "text", "too_large"),
        ({"format": "xml", "text": "<encounter/>"}, 415, "format", "unsupported_format"),
        ({"format": "json", "text": ""}, 400, "text", "invalid_input"),
    ],
)
def test_a_refused_encounter_is_shown_on_the_form(
    client: TestClient, form: dict[str, str], status: int, field: str, code: str
) -> None:
    response = client.post("/check", data=form)
    assert response.status_code == status
    page = parse_html(response.text)
    assert f"({code})" in page.one(id=f"error-{field}").text
    assert page.find_all(id="findings") == []


def test_an_encounter_never_travels_in_a_url_and_a_reader_cannot_validate(policy: PolicyGraph) -> None:
    form = parse_html(
        TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy)).get("/check").text
    )
    assert form.one("form", id="check-form").attrs["method"] == "post"
    closed = TestClient(create_app(Settings(anonymous_role="reader"), policy=policy))
    assert closed.post("/check", data={"format": "json", "text": "{}"}).status_code == 401


def test_no_submitted_encounter_content_is_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-PHI-7c2d"
    encounter = json.loads(DAY.splitlines()[1]) | {"id": canary}
    for form in (
        {"format": "json", "text": json.dumps(encounter)},
        {"format": "turtle", "text": canary + " {"},
        {"format": "ndjson", "text": json.dumps(encounter) + "\n" + canary},
    ):
        assert client.post("/check", data=form).status_code < 500
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert [r for r in service if r.name == "payerkg.access"]  # the requests were logged, without it
    assert [r.name for r in service if canary in r.getMessage() + repr(r.args)] == []
