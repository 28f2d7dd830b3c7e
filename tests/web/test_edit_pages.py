"""The editor's pages: sign in with a key (a session cookie, HttpOnly and SameSite=Strict), check a
proposal and read its what-if, submit it, see it answered, roll it back; a reader's key sees no
controls and its posts are refused; posts without the session's CSRF token or from another
origin are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.editing import diff, revisions
from payerkg.namespaces import RULE as RULES
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, KEYS
from tests.support.html import Element, parse_html

EDITS = Path(__file__).parents[1] / "editing"
RULE = (EDITS / "add-uhc-rpm-2027.ttl").read_text(encoding="utf-8")
RPM_2027 = "/?payer=uhc-commercial&code=99457&date=2027-03-01"


def service() -> TestClient:
    app = create_app(Settings(api_keys=API_KEYS, anonymous_role="reader"), store=MemoryStore())
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def signed_in(client: TestClient, role: str) -> Element:
    response = client.post("/edit/sign-in", data={"key": KEYS[role]})
    assert response.status_code == 200, response.text[:300]  # followed the 303 to /edit
    return parse_html(response.text)


def _hidden(page: Element, name: str) -> str:
    return next(i.attrs["value"] for i in page.find_all("input") if i.attrs.get("name") == name)


@pytest.fixture(scope="module")
def editor() -> tuple[TestClient, Element]:
    client = service()
    return client, signed_in(client, "editor")


def test_signing_in_sets_a_session_cookie_that_scripts_cannot_read() -> None:
    client = service()
    response = client.post("/edit/sign-in", data={"key": KEYS["editor"]}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert KEYS["editor"] not in cookie
    refused = client.post("/edit/sign-in", data={"key": "not-a-key"})
    assert refused.status_code == 401
    assert "not_authenticated" in parse_html(refused.text).one(id="error-key").text


def test_propose_read_the_what_if_submit_see_it_answered_and_roll_it_back() -> None:
    client = service()
    before = parse_html(client.get(RPM_2027).text).one("h2", id="answer-title").text
    page = signed_in(client, "editor")
    token, base = _hidden(page, "csrf"), _hidden(page, "base_revision")
    checked = client.post("/edit/check", data={"csrf": token, "rule": RULE, "base_revision": base})
    assert checked.status_code == 200
    dry = parse_html(checked.text).one("section", id="dry-run")
    assert dry.one("h2").text == "Would be accepted"
    assert "test-uhc-rpm" in dry.one("p", cls="hint").text
    form = {"csrf": token, "rule": RULE, "reason": "UHC RPM from 2027 (test)", "base_revision": base}
    submitted = client.post("/edit/submit", data=form)
    assert submitted.status_code == 200, submitted.text[:500]
    assert parse_html(submitted.text).one(id="committed").one("h2").text == "Revision 2 stored"
    after = parse_html(client.get(RPM_2027).text).one("h2", id="answer-title").text
    assert (before, after) == ("Determination: unknown", "Determination: covered")

    assert (
        client.post(
            "/edit/rollback", data={"csrf": token, "number": "2", "reason": "undo", "base_revision": "2"}
        ).status_code
        == 403
    )
    admin = TestClient(client.app, base_url="http://127.0.0.1")  # the same service, another browser
    admin_page = signed_in(admin, "admin")
    rollback = {
        "csrf": _hidden(admin_page, "csrf"),
        "number": "2",
        "reason": "undo the test rule",
        "base_revision": "2",
    }
    assert admin.post("/edit/rollback", data=rollback).status_code == 200
    audit = parse_html(admin.get("/edit").text)
    assert audit.one(id="audit-chain").text == "Hash chain intact"
    reasons = [
        row.find_all("td")[5].text for row in audit.one("table", cls="audit").one("tbody").find_all("tr")
    ]
    assert reasons[:2] == ["undo the test rule", "UHC RPM from 2027 (test)"]
    assert "UHC RPM from 2027 (test)" not in client.get("/edit").text  # an editor does not read it
    assert parse_html(client.get(RPM_2027).text).one("h2", id="answer-title").text == before


def test_a_reader_sees_no_controls_and_its_posts_are_refused() -> None:
    client = service()
    page = signed_in(client, "reader")
    assert page.one(id="no-edit")
    assert page.find_all("form", id="propose-form") == []
    token = _hidden(page, "csrf")
    for path in ("/edit/check", "/edit/submit"):
        response = client.post(
            path, data={"csrf": token, "rule": RULE, "reason": "nope", "base_revision": "1"}
        )
        assert response.status_code == 403
        assert parse_html(response.text).one("code", cls="code").text == "forbidden"


def test_posts_without_the_token_or_from_another_origin_are_refused(
    editor: tuple[TestClient, Element],
) -> None:
    client, page = editor
    form = {"rule": RULE, "reason": "forged", "base_revision": "1"}
    assert client.post("/edit/submit", data=form).status_code == 403
    assert client.post("/edit/submit", data=form | {"csrf": "guessed"}).status_code == 403
    cross = client.post(
        "/edit/submit",
        data=form | {"csrf": _hidden(page, "csrf")},
        headers={"origin": "https://elsewhere.example"},
    )
    assert cross.status_code == 403
    assert "forged" not in client.get("/changes").text
    assert service().post("/edit/submit", data=form).status_code == 401  # no session at all


def test_a_refused_proposal_is_shown_with_the_apis_code(editor: tuple[TestClient, Element]) -> None:
    client, page = editor
    broken = (EDITS / "refused-syntax-error.ttl").read_text(encoding="utf-8")
    form = {"csrf": _hidden(page, "csrf"), "rule": broken, "reason": "broken rule", "base_revision": "1"}
    response = client.post("/edit/submit", data=form)
    assert response.status_code == 422
    assert re.search(r"\((parse_error|edit_refused)\)", parse_html(response.text).one(id="error-rule").text)
    stale = client.post("/edit/submit", data=form | {"rule": RULE, "base_revision": "9"})
    assert stale.status_code == 409


def _diff_rows(article: Element) -> list[tuple[str, str, str, str, str]]:
    """(subject, change, property, before, after) per row of a revision's diff tables."""
    return [
        (table.one("caption").one("code").text, *(cell.text for cell in row.find_all("td")))  # type: ignore[misc]
        for table in article.find_all("table", cls="rule-diff")
        for row in table.one("tbody").find_all("tr")
    ]


def test_the_rule_page_shows_each_revision_of_the_rule_with_its_diff_and_who_only_to_admins() -> None:
    client = service()
    page = parse_html(client.get("/rule/medicare-telehealth-originating-site").text)
    assert page.one("p", id="no-edits").text.startswith("No edits since the shipped graph:")

    def post(name: str, base: int) -> None:
        body = {
            "rule": (EDITS / name).read_text(encoding="utf-8"),
            "reason": f"test {name}",
            "base_revision": base,
        }
        response = client.post("/rules", json=body, headers={"authorization": f"Bearer {KEYS['editor']}"})
        assert response.status_code == 201, response.text

    post("add-uhc-rpm-2027.ttl", 1)
    post("revise-uhc-rpm-2027.ttl", 2)
    undo = client.post(
        "/revisions/3/rollback",
        params={"reason": "undo the ending", "base_revision": 3},
        headers={"authorization": f"Bearer {KEYS['admin']}"},
    )
    assert undo.status_code == 201, undo.text

    section = parse_html(client.get("/rule/test-uhc-rpm").text).one("section", id="rule-revisions")
    articles = section.find_all("article", cls="rule-revision")
    assert [a.attrs["id"] for a in articles] == ["revision-4", "revision-3", "revision-2"]  # newest first
    assert [a.one("h3").one("span", cls="badge").text for a in articles] == ["rollback", "add", "add"]
    ending = "rv:test-uhc-rpm-2027-ending"
    assert ("rv:test-uhc-rpm-2027-ending", "+ added", "pk:effectiveEnd", "", '"2027-12-31"^^xsd:date') in (
        _diff_rows(articles[1])
    )
    assert {row[:2] for row in _diff_rows(articles[0])} == {(ending, "- removed")}  # the rollback took it out
    assert {row[0] for row in _diff_rows(articles[2])} == {"rule:test-uhc-rpm", "rv:test-uhc-rpm-2027"}
    # The same diff as the whole graphs at each revision give (graph_at), narrowed to the rule.
    store = client.app.state.served.store  # type: ignore[attr-defined]
    rule = RULES["test-uhc-rpm"]
    for article, number in zip(articles, (4, 3, 2), strict=True):
        whole = diff.rule_diff(revisions.graph_at(store, number - 1), revisions.graph_at(store, number), rule)
        assert article.one("pre").text == " ".join(diff.render_text(whole).split())  # text: spaces collapsed

    assert "test add-uhc-rpm-2027.ttl" not in section.text  # who and why: admins only
    assert "admins" in section.one("p", cls="hint").text
    as_admin = client.get("/rule/test-uhc-rpm", headers={"authorization": f"Bearer {KEYS['admin']}"})
    assert "test add-uhc-rpm-2027.ttl" in parse_html(as_admin.text).one(id="revision-2").text
    signed = TestClient(client.app, base_url="http://127.0.0.1")  # an admin signed in on the Edit page
    signed_in(signed, "admin")
    assert "undo the ending" in parse_html(signed.get("/rule/test-uhc-rpm").text).one(id="revision-4").text
    editor_page = TestClient(client.app, base_url="http://127.0.0.1")
    signed_in(editor_page, "editor")
    assert "undo the ending" not in editor_page.get("/rule/test-uhc-rpm").text
