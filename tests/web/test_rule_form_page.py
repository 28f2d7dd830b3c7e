"""The rule form (``/edit/new``): its choices come from the graph and the facet registry; a valid
form previews the Turtle it makes (which parses) with a dry run that would accept it; submitting it
with a reason makes a revision the Ask page answers from; bad fields are shown beside the field with
the API's code (never a 500); a reader's key gets 403, and a post without the session's token too.

The form and the bad fields are data: tests/editing/rule-form-uhc-rpm-2027.json, bad-rule-forms.json."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.namespaces import PK
from payerkg.services.coverage import facet_values
from tests.editing.keys import KEYS, auth
from tests.support.html import Element, parse_html
from tests.web.test_edit_pages import service, signed_in

EDITS = Path(__file__).parents[1] / "editing"
FIXTURE = json.loads((EDITS / "rule-form-uhc-rpm-2027.json").read_text(encoding="utf-8"))
BAD = json.loads((EDITS / "bad-rule-forms.json").read_text(encoding="utf-8"))["cases"]
ASK = "/?payer=uhc-commercial&code=99457&date=2027-03-01&modality=audio-video"


def csrf(page: Element) -> str:
    return next(i.attrs["value"] for i in page.find_all("input") if i.attrs.get("name") == "csrf")


def form(token: str, **changes: Any) -> dict[str, Any]:
    return {**FIXTURE["form"], "csrf": token, "base_revision": "1", **changes}


def options(page: Element, name: str) -> list[str]:
    select = next(s for s in page.find_all("select") if s.attrs.get("name") == name)
    return [o.attrs["value"] for o in select.find_all("option") if o.attrs["value"]]


def turtle_of(text: str) -> str:
    found = re.search(r"<pre><code>(.*?)</code></pre>", text, re.S)
    assert found, "the page shows no rule document"
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def editor() -> tuple[TestClient, str]:
    client = service()
    page = signed_in(client, "editor")
    return client, csrf(page)


def test_every_choice_comes_from_the_graph(editor: tuple[TestClient, str], policy: PolicyGraph) -> None:
    client, _ = editor
    response = client.get("/edit/new")
    assert response.status_code == 200
    page = parse_html(response.text)
    assert set(options(page, "payer")) == {p.id for p in catalog.payers(policy)}
    groups = {str(g).rsplit("/", 1)[-1] for g in policy.dataset.subjects(RDF.type, PK.CodeGroup)}
    assert set(options(page, "code_groups")) == groups
    values = facet_values(policy)
    for facet in FACETS:
        for kind, prop in (("for", facet.scope), ("requires", facet.requirement)):
            if prop is not None:
                offered = options(page, f"{kind}_{facet.name}")
                expected = values.get(facet.name, ["yes", "no"])
                assert sorted(offered) == sorted(expected), (kind, facet.name)
    assert "S68" in options(page, "source")
    assert set(options(page, "status")) == {"draft", "active", "retired"}
    labelled = {label.attrs.get("for") for label in page.find_all("label")}
    controls = [
        f for f in page.find_all("select") + page.find_all("input") if f.attrs.get("type") != "hidden"
    ]
    assert [f.attrs.get("name") for f in controls if f.attrs.get("id") not in labelled] == []


def test_a_valid_form_previews_its_turtle_and_would_be_accepted(editor: tuple[TestClient, str]) -> None:
    client, token = editor
    response = client.post("/edit/new/preview", data=form(token))
    assert response.status_code == 200, response.text[:500]
    page = parse_html(response.text)
    graph = Graph().parse(data=turtle_of(response.text), format="turtle")
    version = URIRef(FIXTURE["version"])
    assert (version, RDF.type, PK.RuleVersion) in graph
    assert graph.value(version, PK.payer) == URIRef("https://w3id.org/payerkg/payer/uhc-commercial")
    dry = page.one("section", id="dry-run")
    assert dry.one("h2").text == "Would be accepted"
    assert dry.one("p", cls="hint").text == "Rules it adds: test-form-uhc-rpm"
    assert page.one("button", id="submit-button")
    # The form keeps what was chosen.
    chosen = next(s for s in page.find_all("select") if s.attrs.get("name") == "for_modality")
    assert [o.attrs["value"] for o in chosen.find_all("option") if "selected" in o.attrs] == ["audio-video"]


def test_submitting_the_form_makes_a_revision_the_ask_page_answers() -> None:
    client = service()
    before = parse_html(client.get(ASK).text).one("h2", id="answer-title").text
    token = csrf(signed_in(client, "editor"))
    refused = client.post("/edit/new/submit", data=form(token, reason=""))
    assert refused.status_code == 422
    assert "(invalid_parameter)" in parse_html(refused.text).one(id="error-reason").text
    submitted = client.post(
        "/edit/new/submit", data=form(token, reason="UHC RPM by video from 2027 (form test)")
    )
    assert submitted.status_code == 200, submitted.text[:500]
    assert parse_html(submitted.text).one(id="committed").one("h2").text == "Revision 2 stored"
    after = parse_html(client.get(ASK).text).one("h2", id="answer-title").text
    assert (before, after) == ("Determination: unknown", "Determination: covered")
    again = client.post("/edit/new/submit", data=form(token, reason="twice", base_revision="2"))
    assert again.status_code == 422  # the version is in the graph now
    assert "(invalid_parameter)" in parse_html(again.text).one(id="error-version_id").text


def test_bad_fields_are_shown_beside_the_field_with_the_apis_code(editor: tuple[TestClient, str]) -> None:
    client, token = editor
    wrong = []
    for case in BAD:
        for route in ("/edit/new/preview", "/edit/new/submit"):
            response = client.post(route, data=form(token, reason="bad form", **case["set"]))
            shown = parse_html(response.text).find_all(id=f"error-{case['field']}")
            if response.status_code != 422 or not shown or f"({case['code']})" not in shown[0].text:
                wrong.append(f"{case['id']} {route}: {response.status_code}")
    assert wrong == []
    assert "bad form" not in client.get("/changes").text  # nothing was stored


def test_a_reader_gets_403_and_a_post_without_the_token_is_refused() -> None:
    client = service()
    assert client.get("/edit/new").status_code == 401
    token = csrf(signed_in(client, "reader"))
    assert client.get("/edit/new").status_code == 403
    for route in ("/edit/new/preview", "/edit/new/submit"):
        response = client.post(route, data=form(token, reason="reader"))
        assert response.status_code == 403
        assert parse_html(response.text).one("code", cls="code").text == "forbidden"
    assert client.get("/edit/new", headers=auth("integrator")).status_code == 403
    editor = service()
    signed_in(editor, "editor")
    assert editor.post("/edit/new/preview", data=form("guessed")).status_code == 403
    assert KEYS["editor"] not in editor.get("/edit/new").text
