"""The rule form's Turtle builder: the version it builds, loaded into the graph, answers the
coverage questions as the form said; submitted text stays literal text; the choices are the
graph's own; bad fields are named with the API's codes.

The form and its questions are data: tests/editing/rule-form-uhc-rpm-2027.json and
bad-rule-forms.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import proposals
from payerkg.editing.rule_form import form_choices, read_rule_form, rule_turtle
from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.graph.rules import local_name
from payerkg.namespaces import PK, RV
from payerkg.services.coverage import facet_values

EDITS = Path(__file__).parents[1] / "editing"
FIXTURE = json.loads((EDITS / "rule-form-uhc-rpm-2027.json").read_text(encoding="utf-8"))
BAD = json.loads((EDITS / "bad-rule-forms.json").read_text(encoding="utf-8"))["cases"]
TODAY = date(2026, 12, 2)


def form_values(changes: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """The fixture's form as a browser sends it: each field a list of values."""
    fields = {**FIXTURE["form"], **(changes or {})}
    return {name: value if isinstance(value, list) else [value] for name, value in fields.items()}


@pytest.fixture(scope="module")
def built(policy: PolicyGraph) -> str:
    reading = read_rule_form(policy, form_values(), TODAY)
    assert reading.errors == []
    assert reading.form is not None
    return rule_turtle(reading.form)


@pytest.fixture(scope="module")
def proposed(policy: PolicyGraph, built: str) -> PolicyGraph:
    proposal = proposals.propose_addition(policy, proposals.parse_rule_turtle(built), TODAY)
    assert (proposal.problems, proposal.conflict_lines) == ([], [])
    return proposal.proposed


@pytest.mark.parametrize("case", FIXTURE["questions"], ids=lambda c: c["id"])
def test_the_built_version_answers_as_the_form_said(
    policy: PolicyGraph, proposed: PolicyGraph, case: dict[str, Any]
) -> None:
    asked = case["question"]
    question = CoverageQuestion(
        asked["payer"], asked["code"], date.fromisoformat(asked["date"]), modality=asked.get("modality")
    )
    before, after = coverage(policy, question), coverage(proposed, question)
    expect = case["expect"]
    assert after.determination == expect["determination"]
    names_it = FIXTURE["version"] in after.rules
    assert names_it == (expect["determination"] != "unknown")
    if names_it:
        assert FIXTURE["version"] not in before.rules
    for key in ("place_of_service_required", "modifiers_required_one_of"):
        if key in expect:
            assert sorted(i.id for i in after.billing.get(key, [])) == expect[key], key
    if "documentation" in expect:
        assert {d.id for d in after.documentation} >= set(expect["documentation"])


def test_the_built_document_holds_the_forms_values_as_terms_only(built: str) -> None:
    graph = Graph().parse(data=built, format="turtle")
    version = URIRef(FIXTURE["version"])
    form = FIXTURE["form"]
    assert (version, RDF.type, PK.RuleVersion) in graph
    assert graph.value(version, PK.effectiveEnd) == Literal(date(2027, 12, 31))
    assert graph.value(version, PK.reviewedOn) == Literal(TODAY)
    # Text that looks like Turtle stays one literal: no statement beyond the form's own.
    titles = [str(t) for t in graph.objects(None, DCTERMS.title)]
    assert titles == [form["new_source_title"]]
    quotes = sorted(str(q) for q in graph.objects(None, PK.quote))
    assert quotes == [form["new_source_quote"]]
    assert set(graph.subjects(PK.status, None)) == {version}
    assert not any("injected" in str(s) for s in graph.subjects())
    source = URIRef("https://w3id.org/payerkg/source/test-form-uhc-rpm-2027-01-01-source")
    assert str(graph.value(source, PK.url)) == form["new_source_url"]
    assert {str(s) for s in graph.subjects(RDF.type, None)} == {
        "https://w3id.org/payerkg/rule/test-form-uhc-rpm",
        FIXTURE["version"],
        str(source),
    }


def test_the_document_is_written_like_the_policy_files(built: str) -> None:
    assert "@prefix pk: <https://w3id.org/payerkg/ontology#> ." in built
    assert "rv:test-form-uhc-rpm-2027-01-01 a pk:RuleVersion" in built
    assert "pk:appliesTo grp:rpm-management" in built
    assert '"2027-01-01"^^xsd:date' in built


def test_the_choices_are_the_graphs_own(policy: PolicyGraph) -> None:
    choices = form_choices(policy)
    assert [c.value for c in choices.payers] != []
    assert {c.value for c in choices.payers} == {p.id for p in catalog.payers(policy)}
    groups = {local_name(g) for g in policy.dataset.subjects(RDF.type, PK.CodeGroup)}
    assert {c.value for c in choices.code_groups} == groups
    values = facet_values(policy)
    offered = {f.name: f for f in choices.facets}
    for facet in FACETS:
        for kind, prop in (("for", facet.scope), ("requires", facet.requirement)):
            if prop is None:
                assert f"{kind}_{facet.name}" not in offered
                continue
            field = offered[f"{kind}_{facet.name}"]
            assert field.property == str(prop)
            if facet.vocabulary is not None:
                assert sorted(c.value for c in field.choices) == values[facet.name]
    assert {c.iri for c in choices.rule_kinds} == {
        str(k) for k in policy.dataset.subjects(RDFS.subClassOf, PK.Rule)
    }
    assert {c.value for c in choices.sources} == {
        local_name(s) for s in policy.dataset.subjects(RDF.type, PK.Source)
    }


@pytest.mark.parametrize("case", BAD, ids=lambda c: c["id"])
def test_a_bad_field_is_named_with_the_apis_code(policy: PolicyGraph, case: dict[str, Any]) -> None:
    reading = read_rule_form(policy, form_values(case["set"]), TODAY)
    assert reading.form is None
    assert (case["field"], case["code"]) in {(e.field, e.code) for e in reading.errors}


def test_a_version_of_an_existing_rule_declares_no_rule(policy: PolicyGraph) -> None:
    existing = "aetna-telemedicine-audio-video"
    changes = {"rule_id": existing, "rule_kind": "", "rule_label": "", "revises": f"{existing}-2020"}
    reading = read_rule_form(policy, form_values(changes), TODAY)
    assert reading.errors == []
    assert reading.form is not None
    graph = Graph().parse(data=rule_turtle(reading.form), format="turtle")
    version = RV[f"{existing}-2027-01-01"]
    assert graph.value(version, PROV.wasRevisionOf) == RV[f"{existing}-2020"]
    assert list(graph.subjects(RDF.type, PK.CoverageRule)) == []
