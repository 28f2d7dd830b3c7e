"""Answers name the graph they came from, and the past can be asked again.

- One graph identity everywhere: revision number plus the content hash of the policy graphs, the
  same on every start for the same data (HTTP, the CLI, coverage answers, validation results and
  /health alike).
- The third time axis: ``as_of`` is what the public could know (an editor rightly backdates it),
  ``at_revision`` is what the service answered at a revision of its store. Asking
  ``at_revision=N`` reproduces the answers given at revision N, including ``as_of`` answers that a
  later, backdated edit changed.

The questions are data beside this test (what-if-questions.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payerkg.api.app import create_app
from payerkg.editing import revisions
from payerkg.errors import UnknownRevision
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.cli.runner import run_cli
from tests.editing.keys import API_KEYS, auth

HERE = Path(__file__).parent
QUESTIONS = json.loads((HERE / "what-if-questions.json").read_text(encoding="utf-8"))["cases"]
BACKDATED_AS_OF = "2025-06-01"
"""A day before the backdated edit was made, after the day it says the rule became known."""


def new_client() -> TestClient:
    return TestClient(
        create_app(Settings(api_keys=API_KEYS), store=MemoryStore()), raise_server_exceptions=False
    )


@pytest.fixture
def client() -> Iterator[TestClient]:
    with new_client() as test_client:
        yield test_client


def rule(name: str, known_from: str | None = None) -> str:
    text = (HERE / name).read_text(encoding="utf-8")
    if known_from is not None:
        text = text.replace(
            "pk:effectiveStart", f'pk:knownFrom "{known_from}"^^xsd:date ;\n    pk:effectiveStart'
        )
    return text


def commit(client: TestClient, text: str, base: int) -> dict[str, Any]:
    body = {"rule": text, "reason": "test: time axes", "base_revision": base}
    response = client.post("/rules", json=body, headers=auth("editor"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ask_all(client: TestClient, **extra: str) -> dict[str, dict[str, Any]]:
    """Every question's answer, and each again as known on BACKDATED_AS_OF."""
    found = {}
    for case in QUESTIONS:
        for as_of in (None, BACKDATED_AS_OF):
            params = case["question"] | ({"as_of": as_of} if as_of else {}) | extra
            response = client.get("/coverage", params=params, headers=auth("reader"))
            assert response.status_code == 200, response.text
            found[f"{case['id']} as of {as_of or 'today'}"] = response.json()
    return found


def test_at_revision_reproduces_what_the_service_answered_at_each_revision(client: TestClient) -> None:
    given = {1: ask_all(client)}
    commit(client, rule("add-uhc-rpm-2027.ttl", known_from="2025-01-01"), base=1)  # entering an old notice
    given[2] = ask_all(client)
    commit(client, rule("revise-uhc-rpm-2027.ttl"), base=2)
    given[3] = ask_all(client)
    # The backdated edit changed what "as of 2025-06-01" answers, as it should ...
    key = f"uhc-99457-2027 as of {BACKDATED_AS_OF}"
    assert (given[1][key]["determination"], given[2][key]["determination"]) == ("unknown", "covered")
    # ... and at_revision still gives what was answered before it, answer for answer.
    for number, answers in given.items():
        assert ask_all(client, at_revision=str(number)) == answers, number
    assert {a["graph_revision"].split("-")[0] for a in given[1].values()} == {"1"}


def test_at_revision_as_a_date_picks_the_revision_in_force_then(client: TestClient) -> None:
    commit(client, rule("add-uhc-rpm-2027.ttl"), base=1)
    question = QUESTIONS[0]["question"]
    today = date.today().isoformat()
    answer = client.get("/coverage", params=question | {"at_revision": today}, headers=auth("reader")).json()
    assert (answer["graph_revision"].split("-")[0], answer["as_of"]) == ("2", today)
    store = client.app.state.served.store  # type: ignore[attr-defined]
    assert revisions.revision_on(store, date.today()) == 2
    with pytest.raises(UnknownRevision):
        revisions.revision_on(store, date(2020, 1, 1))


@pytest.mark.parametrize(
    ("at_revision", "status", "code"),
    [
        ("7", 404, "unknown_revision"),
        ("2020-01-01", 404, "unknown_revision"),  # before the store's first revision
        ("0", 422, "invalid_parameter"),
        ("latest", 422, "invalid_parameter"),
        ("2025-13-01", 422, "invalid_parameter"),
    ],
)
def test_an_unknown_or_malformed_revision_is_a_problem(
    client: TestClient, at_revision: str, status: int, code: str
) -> None:
    params = QUESTIONS[0]["question"] | {"at_revision": at_revision}
    response = client.get("/coverage", params=params, headers=auth("reader"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["pointer"]) == (code, "at_revision")


def test_the_cli_answers_at_a_revision_and_refuses_an_unknown_one() -> None:
    args = ["coverage", "--payer", "uhc-commercial", "--code", "99213", "--date", "2024-06-01"]
    result = run_cli(*args, "--at-revision", "1", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["graph_revision"].startswith("1-")
    unknown = run_cli(*args, "--at-revision", "2")
    assert unknown.returncode == 2
    assert "no revision 2" in unknown.stderr
    assert run_cli(*args, "--at-revision", "yesterday").returncode == 2


def test_one_graph_identity_on_every_start_and_every_entry_point() -> None:
    question = QUESTIONS[2]["question"]
    with new_client() as first, new_client() as second:
        health = [c.get("/health").json() for c in (first, second)]
        assert health[0]["graph_revision"] == health[1]["graph_revision"]  # the same data, the same identity
        identity = health[0]["graph_revision"]
        assert identity == f"1-{health[0]['content_hash']}"
        answer = first.get("/coverage", params=question, headers=auth("reader")).json()
        assert answer["graph_revision"] == identity
        encounter = first.get("/encounter/example.json").json()
        validated = first.post("/validate", json=encounter, headers=auth("integrator")).json()
        assert validated["graph_revision"] == identity
        # The same edit made on two starts: the same content, the same identity (blank-node labels
        # differ between the two parses and do not count).
        made = [commit(c, rule("add-uhc-rpm-2027.ttl"), base=1)["graph_revision"] for c in (first, second)]
        assert made[0] == made[1] and made[0].startswith("2-") and made[0] != identity
        undone = first.post(
            "/revisions/2/rollback",
            params={"reason": "test: undo", "base_revision": 2},
            headers=auth("admin"),
        )
        assert undone.status_code == 201, undone.text
        # Revision 3 holds what revision 1 held: a new number, the same content hash.
        assert first.get("/health").json()["graph_revision"] == "3-" + identity.split("-")[1]
    args = ["coverage", "--payer", "uhc-commercial", "--code", "99213", "--date", "2027-03-01"]
    cli = run_cli(*args, "--modality", "audio-video", "--format", "json")
    assert json.loads(cli.stdout)["graph_revision"] == identity
    text = run_cli(*args, "--modality", "audio-video")
    assert f"graph revision {identity}" in text.stdout
