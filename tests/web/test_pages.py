"""The web pages rendered by the app in this process (TestClient), read as HTML and compared
with what the service layer answers from the real graph."""

from __future__ import annotations

import csv
import io
import json
import shlex
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payerkg.api.app import create_app
from payerkg.coverage.answer import CoverageQuestion
from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.services import coverage
from payerkg.settings import Settings
from payerkg.web.question import FIELDS
from tests.cli.runner import run_cli
from tests.support.html import Element, parse_html

AUDIO_ONLY_HOME = (
    "/?payer=medicare&code=99214&date=2025-05-01&modality=audio-only"
    "&patient_status=established&patient_location=home&rural=false"
)


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(
        create_app(Settings(anonymous_role="reader"), policy=policy), raise_server_exceptions=False
    )


def html(client: TestClient, url: str, status: int = 200) -> Element:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<script" not in response.text
    return parse_html(response.text)


def test_the_empty_ask_page_is_the_form_with_the_graphs_choices(
    client: TestClient, policy: PolicyGraph
) -> None:
    page = html(client, "/")
    form = page.one("form", id="ask-form")
    assert form.attrs["method"] == "get"
    payers = {o.attrs["value"] for o in page.one("select", id="field-payer").find_all("option")} - {""}
    assert payers == {p.id for p in catalog.payers(policy)}
    modalities = [o.attrs["value"] for o in page.one("select", id="field-modality").find_all("option")]
    assert modalities == ["", *coverage.facet_values(policy)["modality"]]
    labelled = {label.attrs["for"] for label in form.find_all("label")}
    controls = {c.attrs["id"] for c in form.find_all("select") + form.find_all("input")}
    assert controls == labelled  # every control has a label
    assert page.find_all(id="answer") == []


def test_requirements_say_when_they_apply(client: TestClient, policy: PolicyGraph) -> None:
    """Without a modality, Medicare asks the record to state the patient's location both for audio-only
    and for video: two items of one text, told apart by when each applies."""
    expected = coverage.ask(policy, CoverageQuestion("medicare", "99213", date_of_service=_day("2025-06-01")))
    page = html(client, "/?payer=medicare&code=99213&date=2025-06-01")
    shown = [li.text for li in page.one("ul", cls="documentation").find_all("li")]
    assert len({item.text for item in expected.documentation}) < len(expected.documentation)
    assert len(shown) == len(expected.documentation)
    for item, line in zip(expected.documentation, shown, strict=True):
        assert item.text in line and (item.when is None or f"(when {item.when})" in line)


def test_an_answer_shows_determination_reasons_billing_sources_and_revision(
    client: TestClient, policy: PolicyGraph
) -> None:
    question = CoverageQuestion(
        "medicare", "99214", date_of_service=_day("2025-05-01"), modality="audio-only",
        patient_status="established", patient_location="home", rural=False,
    )  # fmt: skip
    expected = coverage.ask(policy, question)
    page = html(client, AUDIO_ONLY_HOME)
    assert page.one("h2", id="answer-title").text == f"Determination: {expected.determination}"
    assert f"det-{expected.determination}" in page.one(id="determination").classes()
    statuses = [row.find_all("td")[0].text for row in page.one("table", cls="conditions").find_all("tr")[1:]]
    assert statuses == [c.status or "listed" for c in expected.conditions]
    assert {"met", "open"} <= set(statuses)
    billed = page.one("dl", cls="billing").text
    for items in expected.billing.values():
        assert all(item.id in billed for item in items)
    assert len(page.one("ul", cls="documentation").find_all("li")) == len(expected.documentation)
    rows = page.one("table", cls="sources").find_all("tr")[1:]
    assert [r.one("a", cls="source").attrs["href"] for r in rows] == [c.url for c in expected.citations]
    assert [r.find_all("td")[1].text for r in rows] == [c.evidence_level for c in expected.citations]
    assert [r.find_all("td")[2].text for r in rows] == [c.accessed for c in expected.citations]
    layers = page.one("table", cls="rules").text
    assert all(layer.rule.rsplit("/", 1)[-1] in layers for layer in expected.layers)
    assert page.one("code", id="graph-revision").text == policy.revision
    assert [n.text for n in page.one("ul", cls="notices").find_all("li")] == expected.notices


def test_the_json_link_and_the_cli_command_give_the_same_answer(client: TestClient) -> None:
    page = html(client, AUDIO_ONLY_HOME)
    shown = page.one("h2", id="answer-title").text.removeprefix("Determination: ")
    link = page.one("a", id="json-link").attrs["href"]
    assert dict(parse_qsl(urlsplit(link).query)) == dict(parse_qsl(urlsplit(AUDIO_ONLY_HOME).query))
    answer = client.get(link).json()
    assert answer["determination"] == shown
    command = shlex.split(page.one("pre", id="cli-command").text)
    assert command[:2] == ["payerkg", "coverage"]
    assert "--not-rural" in command  # a yes/no facet as the command's switch
    ran = run_cli(*command[1:], "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["rules"] == answer["rules"]
    curl = shlex.split(page.one("pre", id="curl-command").text)
    assert curl[0] == "curl" and urlsplit(curl[1]).path == "/coverage"
    assert parse_qsl(urlsplit(curl[1]).query) == parse_qsl(urlsplit(link).query)


def test_empty_fields_are_dropped_from_the_url(client: TestClient) -> None:
    response = client.get(
        "/?payer=medicare&code=99213&date=2024-03-15&modality=&rural=", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/?payer=medicare&code=99213&date=2024-03-15"
    response = client.get("/compare?date=2025-06-01&as_of=&group=Medicaid&family=", follow_redirects=False)
    assert response.headers["location"] == "/compare?date=2025-06-01&group=Medicaid"


@pytest.mark.parametrize(
    ("query", "status", "field", "code"),
    [
        ("payer=medicare&code=99213&date=2024-13-40", 422, "date", None),
        ("payer=medicare&code=99213&date=15/03/2024", 422, "date", None),
        ("payer=medicare&code=99213", 422, "date", None),
        ("payer=no-such-payer&code=99213&date=2024-03-15", 404, "payer", "unknown_payer"),
        (
            "payer=medicare&code=99213&date=2024-03-15&modality=smoke-signals",
            422,
            "modality",
            "invalid_parameter",
        ),
        ("payer=medicare&code=not-a-code&date=2024-03-15", 422, "code", "invalid_parameter"),
        ("payer=medicare&code=99213&date=2024-03-15&rural=maybe", 422, "rural", None),
        ("payer=medicare&code=99213&date=2024-03-15&as_of=" + "9" * 300, 422, "as_of", None),
    ],
)
def test_a_bad_field_is_shown_beside_the_field(
    client: TestClient, query: str, status: int, field: str, code: str | None
) -> None:
    page = html(client, "/?" + query, status)
    control = page.one(id=f"field-{field}")
    assert control.attrs.get("aria-invalid") == "true"
    message = page.one(id=f"error-{field}").text
    assert code is None or f"({code})" in message
    assert page.find_all(id="answer") == []


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/?patient_name=x", 422, "invalid_parameter"),
        ("/?payer=medicare&payer=aetna-commercial", 422, "invalid_parameter"),
        ("/compare?date=2025-06-01&date=2025-06-02", 422, "invalid_parameter"),
        ("/compare.csv", 422, "invalid_parameter"),
        ("/code/99999?date=2025-06-01", 404, "unknown_code"),
        ("/code/ZZZZZ?date=2025-06-01", 422, "invalid_parameter"),
        ("/code/99213?date=yesterday", 422, "invalid_parameter"),
        ("/rule/no-such-rule", 404, "unknown_rule"),
        ("/rule/not%20an%20id", 422, "invalid_parameter"),
    ],
)
def test_a_bad_request_is_a_readable_page_with_the_apis_code(
    client: TestClient, url: str, status: int, code: str
) -> None:
    page = html(client, url, status)
    assert page.one("div", cls="problem").one("code", cls="code").text == code


def test_the_api_keeps_its_problem_documents(client: TestClient) -> None:
    response = client.get("/coverage?payer=medicare&code=99213&date=nope")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_without_a_key_a_closed_service_answers_a_page_saying_so(policy: PolicyGraph) -> None:
    closed = TestClient(create_app(Settings(anonymous_role="none"), policy=policy))
    page = html(closed, "/", 401)
    assert page.one("div", cls="problem").one("code", cls="code").text == "not_authenticated"
    assert closed.get("/static/web.css").status_code == 200


def test_submitted_text_is_escaped(client: TestClient) -> None:
    response = client.get("/?payer=%3Cscript%3Ealert(1)%3C/script%3E&code=99213&date=2024-03-15")
    assert response.status_code == 422
    assert "<script" not in response.text
    assert "&lt;script&gt;" in response.text


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(
        st.sampled_from(
            [*FIELDS, "codes", "group", "family", "from_date", "to_date", "from_revision", "to_revision"]
        ),
        st.text(max_size=80),
    )
)
def test_no_query_makes_a_page_fail(client: TestClient, query: dict[str, str]) -> None:
    for path in ("/", "/compare", "/changes"):
        response = client.get(path, params=query, follow_redirects=False)
        assert response.status_code < 500, (path, query)


def test_compare_cells_are_the_matrix_and_link_to_the_same_answer(
    client: TestClient, policy: PolicyGraph
) -> None:
    page = html(client, "/compare?date=2025-06-01")
    expected = coverage.matrix(policy, _day("2025-06-01"))
    table = page.one("table", id="matrix")
    rows = table.one("tbody").find_all("tr")
    assert len(rows) == len(expected.payers)
    for row, payer in zip(rows, expected.payers, strict=True):
        cells = row.find_all("td")
        assert [c.text for c in cells] == [
            expected.cells[payer][code].determination for code in expected.codes
        ]
        assert all(f"det-{c.text}" in c.classes() for c in cells)
    link = rows[0].find_all("td")[0].one("a").attrs["href"]
    answer = html(client, link)
    assert answer.one("h2", id="answer-title").text == f"Determination: {rows[0].find_all('td')[0].text}"


def test_compare_filters_by_payer_group_and_code_family(client: TestClient, policy: PolicyGraph) -> None:
    page = html(client, "/compare?date=2025-06-01&group=Medicaid&family=RemotePhysiologicMonitoring")
    table = page.one("table", id="matrix")
    medicaid = sorted(p.id for p in catalog.payers(policy) if (p.kind or "").endswith("#Medicaid"))
    assert [r.one("th").one("span").text for r in table.one("tbody").find_all("tr")] == medicaid
    assert [th.text for th in table.one("thead").find_all("th")[1:]] == ["99457"]
    html(client, "/compare?date=2025-06-01&group=NoSuchGroup", 422).one(id="error-group")


def test_the_csv_is_the_table_on_the_page(client: TestClient) -> None:
    query = "date=2025-06-01&group=Commercial&codes=99213,98005,99457"
    page = html(client, "/compare?" + query)
    assert page.one("a", id="csv-link").attrs["href"] == "/compare.csv?" + query.replace(",", "%2C")
    response = client.get("/compare.csv?" + query)
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["payer", "payer_label", "payer_group", "99213", "98005", "99457"]
    shown = page.one("table", id="matrix").one("tbody").find_all("tr")
    assert [r[3:] for r in rows[1:]] == [[c.text for c in tr.find_all("td")] for tr in shown]
    assert {r[2] for r in rows[1:]} == {"Commercial"}


def test_the_code_page_shows_validity_and_the_rules_naming_it(
    client: TestClient, policy: PolicyGraph
) -> None:
    assert html(client, "/code/99442?date=2025-06-01").one(id="validity").text == "not valid"
    page = html(client, "/code/99213?date=2025-06-01")
    assert page.one(id="validity").text == "valid"
    listed = {a.attrs["href"] for a in page.one("table", cls="timeline").find_all("a")}
    assert listed == {f"/rule/{v.id}" for v in catalog.rule_versions(policy, code="99213")}


def test_the_rule_page_lists_every_version_with_sources(client: TestClient, policy: PolicyGraph) -> None:
    history = catalog.rule_history(policy, "medicare-telehealth-originating-site")
    page = html(client, "/rule/medicare-telehealth-originating-site")
    versions = page.one("ol", cls="versions").find_all("li", cls="version")
    assert [v.attrs["id"] for v in versions] == [v.id for v in history.versions]
    assert versions[0].one("ul", cls="sources").find_all("a")
    by_version = html(client, f"/rule/{history.versions[0].id}")
    assert by_version.one("h1").text == "Rule medicare-telehealth-originating-site"
    no_edits = page.one("section", id="rule-revisions").one("p", id="no-edits").text  # a fixed graph
    assert no_edits.startswith("No edits since the shipped graph (this service serves a fixed graph")


def test_the_style_sheet_is_served_and_has_a_print_style(client: TestClient) -> None:
    response = client.get("/static/web.css")
    assert response.headers["content-type"].startswith("text/css")
    assert "@media print" in response.text
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/ask.html").status_code == 404


def _day(text: str) -> date:
    return date.fromisoformat(text)
