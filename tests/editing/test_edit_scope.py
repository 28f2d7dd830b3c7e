"""Edits change only what they name: a supersession ends the older version only for the new
version's codes and dates (or is refused, listing the answers it would change), a dry run warns
about answers outside the new versions' scope and about answers as known on past days, and two
versions of one rule that say opposite things are refused and reported.

The changes and the questions are data beside this test: tests/editing/*.ttl and
scope-questions.json (each question says whether the psychiatric supersession speaks to it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.editing import proposals as editing
from payerkg.editing import revisions
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from payerkg.stores.oxigraph import OxigraphStore
from tests.cli.runner import run_cli
from tests.editing.keys import API_KEYS, auth

HERE = Path(__file__).parent
SCOPE_QUESTIONS = json.loads((HERE / "scope-questions.json").read_text(encoding="utf-8"))
IN_SCOPE = {c["id"] for c in SCOPE_QUESTIONS["cases"] if c["in_scope"]}
OUTSIDE = {c["id"] for c in SCOPE_QUESTIONS["cases"] if not c["in_scope"]}
RV = "https://w3id.org/payerkg/rule-version/"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(Settings(api_keys=API_KEYS), store=MemoryStore())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def change(name: str, **extra: Any) -> dict[str, Any]:
    rule = (HERE / name).read_text(encoding="utf-8")
    return {"rule": rule, "reason": f"test: {name}", "base_revision": 1, **extra}


def answers(client: TestClient) -> dict[str, tuple[str, list[str]]]:
    found = {}
    for case in SCOPE_QUESTIONS["cases"]:
        body = client.get("/coverage", params=case["question"], headers=auth("reader")).json()
        found[case["id"]] = (body["determination"], body["rules"])
    return found


def test_a_supersession_ends_the_older_version_only_for_the_new_versions_codes_and_dates(
    client: TestClient,
) -> None:
    before = answers(client)
    response = client.post(
        "/rules",
        json=change("supersede-uhc-psychiatric-video-2024.ttl", supersedes=True),
        headers=auth("editor"),
    )
    assert response.status_code == 201, response.text
    after = answers(client)
    # UHC's broad 2021 video rule still answers for office visits, and for psychiatric services before 2024.
    assert {i: after[i] for i in OUTSIDE} == {i: before[i] for i in OUTSIDE}
    assert after["uhc-99213-video-2024"][0] == "covered"
    assert RV + "uhc-telehealth-audio-video-2021" in after["uhc-99213-video-2025"][1]
    for case_id in IN_SCOPE:
        assert after[case_id][0] == "not-covered", case_id
        assert RV + "uhc-telehealth-audio-video-2021" not in after[case_id][1]
    history = client.get("/rules/test-uhc-psychiatric-video/history", headers=auth("reader")).json()
    assert history["versions"][0]["supersedes"] == [RV + "uhc-telehealth-audio-video-2021"]
    assert history["versions"][0]["revises"] == []
    # Superseded, the pair is no conflict; the graph's other conflicts are as before.
    conflicts = client.get("/conflicts", headers=auth("reader")).json()
    assert not [c for c in conflicts if "test-uhc-psychiatric-video-2024" in json.dumps(c)]


def test_the_dry_run_of_a_scoped_supersession_changes_answers_in_its_scope_only(client: TestClient) -> None:
    body = change("supersede-uhc-psychiatric-video-2024.ttl", supersedes=True, questions=SCOPE_QUESTIONS)
    report = client.post("/rules/dry-run", json=body, headers=auth("editor")).json()
    assert report["would_be_accepted"] is True
    assert report["warnings"] == []
    assert {c["id"] for c in report["changes"]} == IN_SCOPE
    assert not any(c["outside_scope"] for c in report["changes"])


def test_a_supersession_beyond_the_new_versions_situations_is_refused_with_the_answers_it_would_change(
    client: TestClient,
) -> None:
    # POS 11 for office visits by video only; the version it disagrees with also sets the place of
    # service of audio-only visits, which superseding would leave without one.
    body = change("conflict-uhc-office-pos11-2027.ttl", supersedes=True)
    response = client.post("/rules", json=body, headers=auth("editor"))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "rule_conflict"
    beyond = [p for p in problem["problems"] if "may not supersede" in p]
    assert len(beyond) == 1
    assert "uhc-telehealth-pos-02-or-10 also speaks to modality synchronous audio-only" in beyond[0]
    assert "uhc-commercial 99202 on 2027-01-01, modality audio-only: not-covered" in beyond[0]
    assert [r["number"] for r in client.get("/revisions", headers=auth("reader")).json()] == [1]
    report = client.post(
        "/rules/dry-run",
        json=change("conflict-uhc-office-pos11-2027.ttl", supersedes=True),
        headers=auth("editor"),
    ).json()
    assert report["would_be_accepted"] is False
    assert any("may not supersede" in c for c in report["conflicts"])


def test_the_dry_run_warns_when_answers_outside_the_new_versions_scope_change(client: TestClient) -> None:
    # A revision (prov:wasRevisionOf) ends the revised version as a whole: office visits by video
    # lose their rule although the new version speaks to psychiatric services only.
    body = change("revise-uhc-video-psychiatric-only-2024.ttl", questions=SCOPE_QUESTIONS)
    report = client.post("/rules/dry-run", json=body, headers=auth("editor")).json()
    outside = {c["id"] for c in report["changes"] if c["outside_scope"]}
    assert {"uhc-99213-video-2024", "uhc-99213-video-2025"} <= outside
    assert outside <= OUTSIDE
    assert any(w.startswith("uhc-99213-video-2024: covered") for w in report["warnings"])


def test_the_dry_run_flags_an_edit_that_changes_answers_as_known_on_past_days(client: TestClient) -> None:
    questions = json.loads((HERE / "what-if-questions.json").read_text(encoding="utf-8"))
    body = change("add-uhc-rpm-2027.ttl", questions=questions)
    plain = client.post("/rules/dry-run", json=body, headers=auth("editor")).json()
    assert plain["warnings"] == []  # known from today: no past answer changes
    backdated = body["rule"].replace(
        "pk:effectiveStart", 'pk:knownFrom "2025-01-01"^^xsd:date ;\n    pk:effectiveStart'
    )
    report = client.post("/rules/dry-run", json=body | {"rule": backdated}, headers=auth("editor")).json()
    past = [c for c in report["changes"] if c["kind"] == "coverage-as-of"]
    assert {c["id"] for c in past} == {"uhc-99457-2027 as of 2025-01-01", "uhc-99457-2028 as of 2025-01-01"}
    assert any("as known on a past day" in w for w in report["warnings"])


def test_two_versions_of_one_rule_that_say_opposite_things_are_refused(client: TestClient) -> None:
    response = client.post(
        "/rules", json=change("same-rule-opposite-uhc-video-2027.ttl"), headers=auth("editor")
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "rule_conflict"
    [text] = problem["problems"]
    assert RV + "test-uhc-audio-video-not-covered-2027 says NotCovered" in text
    assert RV + "uhc-telehealth-audio-video-2021 says Covered" in text
    assert [r["number"] for r in client.get("/revisions", headers=auth("reader")).json()] == [1]


def test_conflicts_report_two_versions_of_one_rule_that_say_opposite_things(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that took such a pair before edits were checked for it: `conflicts` names both."""
    store_path = tmp_path / "store"
    store = OxigraphStore(store_path)
    revisions.seed(store)
    added = editing.parse_rule_turtle((HERE / "same-rule-opposite-uhc-video-2027.ttl").read_text())
    revisions.commit(
        store, revisions.Change("add", "old-service", "editor", "before the check", (), added), 1
    )
    wanted = {RV + "test-uhc-audio-video-not-covered-2027", RV + "uhc-telehealth-audio-video-2021"}

    def same_rule(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in found if {c["first"]["rule"], c["second"]["rule"]} == wanted]

    app = create_app(Settings(api_keys=API_KEYS), store=store)
    with TestClient(app, raise_server_exceptions=False) as http:
        [reported] = same_rule(http.get("/conflicts", headers=auth("reader")).json())
    assert (reported["payer"], reported["topic"], reported["overlap_start"]) == (
        "uhc-commercial",
        "determination",
        "2027-01-01",
    )
    assert "99213" in reported["codes"] and "90834" in reported["codes"]
    store.close()
    monkeypatch.setenv("PAYERKG_STORE", "oxigraph")
    monkeypatch.setenv("PAYERKG_STORE_PATH", str(store_path))
    result = run_cli("conflicts", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert same_rule(json.loads(result.stdout)) == [reported]
