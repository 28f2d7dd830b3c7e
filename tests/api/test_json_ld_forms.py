"""Encounters in every JSON-LD form a standard processor (pyld) makes from the published context:
expanded, compacted (by the context's IRI or written out), flattened. Each means the same graph
as the shipped example it was made from and gets the same findings; the refusals still hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from rdflib.compare import isomorphic

from payerkg.api.app import create_app
from payerkg.graph.dataset import PolicyGraph
from payerkg.settings import Settings
from payerkg.validation.encounter import CONTEXT_URL, context_document, example_encounter, parse_encounter

ROOT = Path(__file__).resolve().parents[2]
JSON_LD = "application/ld+json"


def load_context(url: str, options: object = None) -> dict[str, Any]:
    """The processor's document loader: the published context from the package, nothing else."""
    assert url == CONTEXT_URL
    return {"contextUrl": None, "documentUrl": url, "document": context_document()}


OPTIONS = {"documentLoader": load_context}
FORMS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "expanded": lambda doc: jsonld.expand(doc, OPTIONS),
    "compacted": lambda doc: jsonld.compact(jsonld.expand(doc, OPTIONS), CONTEXT_URL, OPTIONS),
    "compacted-inline-context": lambda doc: jsonld.compact(
        jsonld.expand(doc, OPTIONS), context_document(), OPTIONS
    ),
    "flattened": lambda doc: jsonld.flatten(doc, None, OPTIONS),
    "flattened-compacted": lambda doc: jsonld.flatten(doc, CONTEXT_URL, OPTIONS),
    "expanded-then-recompacted": lambda doc: jsonld.compact(
        jsonld.flatten(jsonld.expand(doc, OPTIONS), None, OPTIONS), CONTEXT_URL, OPTIONS
    ),
}


def shipped_examples() -> list[dict[str, Any]]:
    """The example encounter and the day's batch (docs/examples), each as a JSON-LD document."""
    batch = (ROOT / "docs" / "examples" / "day.ndjson").read_text(encoding="utf-8").splitlines()
    examples = [example_encounter(), *(json.loads(line) for line in batch if line.strip())]
    return [{"@context": CONTEXT_URL, **{k: v for k, v in e.items() if k != "@context"}} for e in examples]


EXAMPLES = shipped_examples()


@pytest.fixture(scope="module")
def client(policy: PolicyGraph) -> TestClient:
    return TestClient(create_app(Settings(anonymous_role="integrator"), policy=policy))


def validate(client: TestClient, document: Any) -> dict[str, Any]:
    response = client.post(
        "/validate", content=json.dumps(document).encode(), headers={"content-type": JSON_LD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def findings(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["rule"] or "", f["field"], f["severity"]) for f in body["findings"])


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_every_standard_form_is_the_same_graph_with_the_same_findings(
    client: TestClient, example: dict[str, Any], form: str
) -> None:
    document = FORMS[form](example)
    original = parse_encounter(json.dumps(example).encode(), JSON_LD)
    processed = parse_encounter(json.dumps(document).encode(), JSON_LD)
    assert processed.id == original.id and processed.node == original.node
    assert isomorphic(processed.graph, original.graph)
    expected = validate(client, example)
    got = validate(client, document)
    assert (got["no_violations"], findings(got)) == (expected["no_violations"], findings(expected))


def test_examples_cover_both_verdicts(client: TestClient) -> None:
    verdicts = {validate(client, example)["no_violations"] for example in EXAMPLES}
    assert verdicts == {True, False}


@pytest.mark.parametrize(
    "iri",
    [
        "urn:payerkg:encounter:visit-17",
        "visit-17",
        "file:///home/biller/visit-17",
        "https://x.test/e/visit-17",
    ],
)
def test_the_node_iri_as_a_processor_writes_it_names_the_encounter(iri: str) -> None:
    compacted = dict(EXAMPLES[0], id=iri)
    expanded = jsonld.expand(compacted, OPTIONS | {"base": ""})
    for document in (compacted, expanded):
        encounter = parse_encounter(json.dumps(document).encode(), JSON_LD)
        assert encounter.id == "visit-17"
        assert str(encounter.node) == "urn:payerkg:encounter:visit-17"


def test_the_context_is_readable_from_any_origin(client: TestClient) -> None:
    response = client.get("/encounter/context.jsonld", headers={"origin": "https://biller.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == context_document()


def expanded_example() -> list[dict[str, Any]]:
    document: list[dict[str, Any]] = jsonld.expand(EXAMPLES[0], OPTIONS)
    return document


@pytest.mark.parametrize(
    ("name", "document", "code"),
    [
        (
            "other-context-iri",
            lambda: dict(EXAMPLES[0], **{"@context": "https://x.test/ctx"}),
            "context_not_allowed",
        ),
        (
            "context-not-the-published-one",
            lambda: dict(EXAMPLES[0], **{"@context": {"id": "@id", "payer": "https://x.test/payer"}}),
            "context_not_allowed",
        ),
        (
            "import-in-inline-context",
            lambda: dict(EXAMPLES[0], **{"@context": {"@import": "https://x.test/i"}}),
            "context_not_allowed",
        ),
        (
            "context-inside-expanded-node",
            lambda: [dict(expanded_example()[0], **{"@context": "https://x.test/ctx"})],
            "context_not_allowed",
        ),
        (
            "scoped-context-in-a-nested-node",
            lambda: {
                "@context": CONTEXT_URL,
                "@graph": [dict(EXAMPLES[0], patient={"@context": {}, "status": "new"})],
            },
            "context_not_allowed",
        ),
        (
            "included-keyword",
            lambda: [dict(expanded_example()[0], **{"@included": []})],
            "context_not_allowed",
        ),
        (
            "no-context-and-short-keys",
            lambda: [{"payer": "medicare", "@id": "urn:payerkg:encounter:x"}],
            "context_not_allowed",
        ),
        (
            "two-encounters",
            lambda: [*expanded_example(), dict(expanded_example()[0], **{"@id": "other"})],
            "invalid_encounter",
        ),
        ("no-encounter-node", lambda: [{"https://x.test/p": [{"@value": 1}]}], "invalid_encounter"),
        ("not-json-ld", lambda: [{"@id": 5}], "parse_error"),
    ],
)
def test_refusals_hold_for_standard_forms(client: TestClient, name: str, document: Any, code: str) -> None:
    response = client.post(
        "/validate", content=json.dumps(document()).encode(), headers={"content-type": JSON_LD}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert "x.test" not in response.text
