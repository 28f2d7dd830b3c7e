"""The Changes page and its Atom feed: answers and rule versions that changed between two dates
of service, what an accepted change did (rule by rule), and the feed of accepted changes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.services import coverage
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, auth
from tests.support.html import parse_html

EDITS = Path(__file__).parents[1] / "editing"
REASON = "changes page test: a reason only admins read"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def edited() -> TestClient:
    """A service with one accepted change (revision 2 adds a UnitedHealthcare rule)."""
    app = create_app(Settings(api_keys=API_KEYS, anonymous_role="reader"), store=MemoryStore())
    client = TestClient(app, raise_server_exceptions=False)
    change = {"rule": (EDITS / "add-uhc-rpm-2027.ttl").read_text(encoding="utf-8"), "reason": REASON}
    assert (
        client.post("/rules", json=change | {"base_revision": 1}, headers=auth("editor")).status_code == 201
    )
    return client


def test_answers_and_versions_that_changed_between_two_dates(edited: TestClient, policy: PolicyGraph) -> None:
    response = edited.get("/changes?from_date=2024-06-01&to_date=2025-06-01&group=MedicareFeeForService")
    assert response.status_code == 200
    page = parse_html(response.text)
    expected = coverage.date_changes(
        policy, date(2024, 6, 1), date(2025, 6, 1), payer_group="MedicareFeeForService"
    )
    rows = page.one("table", cls="answer-changes").one("tbody").find_all("tr")
    shown = [[cell.text for cell in row.find_all("td")] for row in rows]
    assert shown == [[c.payer, c.code, c.before, c.after] for c in expected.answers]
    assert ["medicare", "99442", "not-covered", "invalid-code"] in shown  # deleted from CPT in 2025
    events = page.one("table", cls="version-events").one("tbody").find_all("tr")
    assert [row.find_all("td")[0].text for row in events] == [e.on for e in expected.versions]
    assert all(e.payer == "medicare" for e in expected.versions) and expected.versions


def test_what_an_accepted_change_did_rule_by_rule(edited: TestClient) -> None:
    page = parse_html(edited.get("/changes?from_revision=1&to_revision=2").text)
    section = page.one("section", id="revision-changes")
    assert "test-uhc-rpm" in section.text
    assert len(section.find_all("div", cls="subject")) == 2  # the rule and its version
    other_group = parse_html(edited.get("/changes?from_revision=1&to_revision=2&group=Medicaid").text)
    assert other_group.one("section", id="revision-changes").find_all("div", cls="subject") == []
    revisions = page.one("table", cls="revisions").one("tbody").find_all("tr")
    assert [row.find_all("td")[0].text for row in revisions] == ["2", "1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from_date=2025-06-01&to_date=2024-06-01", "to_date"),
        ("from_date=june", "from_date"),
        ("from_revision=1", "to_revision"),
        ("from_revision=0&to_revision=1", "from_revision"),
        ("from_revision=1&to_revision=two", "to_revision"),
        ("from_revision=1&to_revision=9", "to_revision"),
        ("from_date=2025-06-01&group=NoSuchGroup", "group"),
    ],
)
def test_a_bad_field_is_shown_on_the_page(edited: TestClient, query: str, field: str) -> None:
    response = edited.get("/changes?" + query)
    assert response.status_code in (404, 422)
    assert parse_html(response.text).one(id=f"error-{field}")


def test_the_feed_lists_each_accepted_change_without_who_or_why(edited: TestClient) -> None:
    for caller in ("anonymous", "reader", "admin"):
        response = edited.get("/changes.atom", headers=auth(caller))
        assert response.headers["content-type"].startswith("application/atom+xml")
        assert REASON not in response.text
        assert REASON not in edited.get("/changes", headers=auth(caller)).text
    feed = ET.fromstring(edited.get("/changes.atom").content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Revision 2: add (test-uhc-rpm)",
        "Revision 1: seed",
    ]
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith("/changes?from_revision=1&to_revision=2")
    assert all(e.findtext(f"{ATOM}id", "").startswith("urn:payerkg:revision:") for e in entries)


def test_a_fixed_graph_has_no_revisions_to_list(policy: PolicyGraph) -> None:
    client = TestClient(create_app(Settings(anonymous_role="reader"), policy=policy))
    assert "keeps no revisions" in client.get("/changes").text
    assert ET.fromstring(client.get("/changes.atom").content).findall(f"{ATOM}entry") == []
