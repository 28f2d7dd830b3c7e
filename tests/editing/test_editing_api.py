"""Editing over HTTP on a seeded store: add, revise, refuse, conflict, stale, dry-run, roll back,
diff and audit. The rule files are data beside this test (tests/editing/*.ttl)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.editing import revisions
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, auth

HERE = Path(__file__).parent
QUESTIONS = json.loads((HERE / "what-if-questions.json").read_text())


def rule(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A fresh seeded in-memory store per test, so tests do not depend on each other's edits."""
    app = create_app(Settings(api_keys=API_KEYS), store=MemoryStore())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def post_rule(client: TestClient, name: str, base: int, **extra: Any) -> Any:
    body = {"rule": rule(name), "reason": f"test: {name}", "base_revision": base, **extra}
    return client.post("/rules", json=body, headers=auth("editor"))


def ask(client: TestClient, case_id: str) -> dict[str, Any]:
    question = next(c["question"] for c in QUESTIONS["cases"] if c["id"] == case_id)
    response = client.get("/coverage", params=question, headers=auth("reader"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_accepted_rule_is_a_new_revision_that_answers_at_once(client: TestClient) -> None:
    assert ask(client, "uhc-99457-2027")["determination"] == "unknown"
    response = post_rule(client, "add-uhc-rpm-2027.ttl", base=1)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/revisions/2"
    answer = ask(client, "uhc-99457-2027")
    assert answer["determination"] == "covered"
    assert "https://w3id.org/payerkg/rule-version/test-uhc-rpm-2027" in answer["rules"]
    assert answer["graph_revision"] == response.json()["graph_revision"]
    record = client.get("/revisions/2", headers=auth("admin")).json()
    assert (record["author"], record["role"], record["kind"]) == ("editor-tester", "editor", "add")
    assert record["rules"] == ["https://w3id.org/payerkg/rule/test-uhc-rpm"]


def test_turtle_body_with_query_parameters(client: TestClient) -> None:
    response = client.post(
        "/rules",
        content=rule("add-uhc-rpm-2027.ttl"),
        params={"reason": "test: turtle body", "base_revision": 1},
        headers=auth("editor") | {"content-type": "text/turtle"},
    )
    assert response.status_code == 201, response.text


def test_a_revision_keeps_the_rule_and_adds_a_version(client: TestClient) -> None:
    assert post_rule(client, "add-uhc-rpm-2027.ttl", base=1).status_code == 201
    assert post_rule(client, "revise-uhc-rpm-2027.ttl", base=2).status_code == 201
    assert ask(client, "uhc-99457-2028")["determination"] == "unknown"  # the new version ends in 2027
    history = client.get("/rules/test-uhc-rpm/history", headers=auth("reader")).json()
    versions = [v["id"] for v in history["versions"]]
    assert versions == ["test-uhc-rpm-2027", "test-uhc-rpm-2027-ending"]
    assert history["versions"][1]["revises"] == ["https://w3id.org/payerkg/rule-version/test-uhc-rpm-2027"]
    assert [r["number"] for r in history["revisions"]] == [2, 3]
    listed = client.get("/rules", params={"payer": "uhc-commercial", "code": "99457"}, headers=auth("reader"))
    assert {v["id"] for v in listed.json()} == set(versions)


@pytest.mark.parametrize(
    ("name", "status", "code", "says"),
    [
        ("refused-no-citation.ttl", 422, "edit_refused", "must cite at least one known source"),
        ("refused-changes-existing-version.ttl", 422, "edit_refused", "versions never change"),
        ("refused-syntax-error.ttl", 422, "parse_error", "Turtle syntax error"),
        ("conflict-uhc-office-pos11-2027.ttl", 409, "rule_conflict", "uhc-telehealth-pos-02-or-10"),
    ],
)
def test_refused_changes_leave_no_trace(
    client: TestClient, name: str, status: int, code: str, says: str
) -> None:
    response = post_rule(client, name, base=1)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert says in json.dumps(body)
    assert [r["number"] for r in client.get("/revisions", headers=auth("reader")).json()] == [1]
    assert client.get("/audit/verify", headers=auth("admin")).json() == {"intact": True, "problems": []}


def test_superseding_resolves_the_conflict(client: TestClient) -> None:
    before = ask(client, "uhc-99213-video-2027")
    # The version it disagrees with speaks to audio-only visits too: superseding it for video only
    # would leave them without a place of service (tests/editing/test_edit_scope.py), so the
    # fixture is widened to both modalities here.
    text = rule("conflict-uhc-office-pos11-2027.ttl").replace(
        "pk:forModality pk:AudioVideo ;", "pk:forModality pk:AudioVideo , pk:AudioOnly ;"
    )
    body = {"rule": text, "reason": "test: supersede", "base_revision": 1, "supersedes": True}
    response = client.post("/rules", json=body, headers=auth("editor"))
    assert response.status_code == 201, response.text
    after = ask(client, "uhc-99213-video-2027")
    assert [i["id"] for i in before["billing"]["place_of_service_required"]] == ["02", "10"]
    assert [i["id"] for i in after["billing"]["place_of_service_required"]] == ["11"]
    assert (
        client.get("/conflicts", headers=auth("reader")).json()
        == client.get("/conflicts", params={"as_of": "2026-01-01"}, headers=auth("reader")).json()
    )  # no conflict was added


def test_a_stale_base_is_refused(client: TestClient) -> None:
    assert post_rule(client, "add-uhc-rpm-2027.ttl", base=1).status_code == 201
    response = post_rule(client, "revise-uhc-rpm-2027.ttl", base=1)
    assert response.status_code == 409
    assert response.json()["code"] == "stale_revision"


def test_dry_run_shows_what_would_change_and_changes_nothing(client: TestClient) -> None:
    body = {"rule": rule("add-uhc-rpm-2027.ttl"), "questions": QUESTIONS}
    report = client.post("/rules/dry-run", json=body, headers=auth("editor")).json()
    assert report["would_be_accepted"] is True
    assert {(c["id"], c["before"], c["after"]) for c in report["changes"]} == {
        ("uhc-99457-2027", "unknown (no rule)", "covered (test-uhc-rpm-2027)"),
        ("uhc-99457-2028", "unknown (no rule)", "covered (test-uhc-rpm-2027)"),
    }
    assert ask(client, "uhc-99457-2027")["determination"] == "unknown"
    conflict = {"rule": rule("conflict-uhc-office-pos11-2027.ttl"), "questions": QUESTIONS}
    refused = client.post("/rules/dry-run", json=conflict, headers=auth("editor")).json()
    assert refused["would_be_accepted"] is False
    assert "uhc-telehealth-pos-02-or-10" in refused["conflicts"][0]


def test_rollback_withdraws_an_edit_as_a_new_revision(client: TestClient) -> None:
    assert post_rule(client, "add-uhc-rpm-2027.ttl", base=1).status_code == 201
    response = client.post(
        "/revisions/2/rollback", params={"reason": "test: undo", "base_revision": 2}, headers=auth("admin")
    )
    assert response.status_code == 201, response.text
    assert ask(client, "uhc-99457-2027")["determination"] == "unknown"
    log = client.get("/audit", headers=auth("admin")).json()
    assert [(r["number"], r["kind"], r["withdraws"]) for r in log] == [
        (1, "seed", None),
        (2, "add", None),
        (3, "rollback", 2),
    ]
    again = client.post(
        "/revisions/2/rollback", params={"reason": "test: twice", "base_revision": 3}, headers=auth("admin")
    )
    assert again.status_code == 422


def test_diff_between_revisions_names_the_added_version(client: TestClient) -> None:
    assert post_rule(client, "add-uhc-rpm-2027.ttl", base=1).status_code == 201
    found = client.get("/diff", params={"from": 1, "to": 2}, headers=auth("reader")).json()
    assert "rv:test-uhc-rpm-2027" in found["text"]
    assert "added" in found["text"]
    assert client.get("/diff", params={"from": 2, "to": 2}, headers=auth("reader")).json()["subjects"] == []


def test_audit_verify_detects_tampering(client: TestClient) -> None:
    assert post_rule(client, "add-uhc-rpm-2027.ttl", base=1).status_code == 201
    store = client.app.state.served.store  # type: ignore[attr-defined]
    assert revisions.verify(store) == []
    store.update(  # someone with access to the store rewrites the stated reason of revision 2
        f"WITH <{revisions.REVISIONS_GRAPH}> "
        "DELETE { ?r <https://w3id.org/payerkg/ontology#reason> ?why } "
        'INSERT { ?r <https://w3id.org/payerkg/ontology#reason> "nothing to see" } '
        "WHERE { ?r <https://w3id.org/payerkg/ontology#revisionNumber> 2 ; "
        "<https://w3id.org/payerkg/ontology#reason> ?why }"
    )
    report = client.get("/audit/verify", headers=auth("admin")).json()
    assert report["intact"] is False
    assert any("revision 2: record hash does not match" in p for p in report["problems"])


def test_other_media_types_are_refused(client: TestClient) -> None:
    response = client.post(
        "/rules", content=b"<rdf:RDF/>", headers=auth("editor") | {"content-type": "application/rdf+xml"}
    )
    assert response.status_code == 415
