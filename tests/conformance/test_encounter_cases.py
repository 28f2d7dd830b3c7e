"""Runs every encounter case beside the rules (policies/<payer>/cases/encounters/*.json) and
checks that every rule version enforced on encounters has a conforming and a violating case, on
every store backend.

Findings are compared by structure (rule, field, severity), never by message text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rdflib.namespace import RDF, SH

from payerkg.core.dataset import PolicyGraph, default_data_root
from payerkg.core.encounter import encounter_from_json
from payerkg.core.validation import shapes_graph, validate_encounter
from payerkg.namespaces import PK, RV

CASE_FILES = sorted((default_data_root() / "policies").glob("*/cases/encounters/*.json"))
CASES = {path.stem: json.loads(path.read_text()) for path in CASE_FILES}


def _local(iri: str | None) -> str | None:
    return iri.rsplit("/", 1)[-1] if iri else None


def test_case_names_say_why() -> None:
    assert CASES
    for name, case in CASES.items():
        assert name.startswith(("conforms-", "violates-")), name
        assert case["encounter"]["id"] == name
        assert case["expect"]["conforms"] == name.startswith("conforms-")


@pytest.mark.parametrize("name", sorted(CASES))
def test_encounter_case(backend_policy: PolicyGraph, name: str) -> None:
    case: dict[str, Any] = CASES[name]
    result = validate_encounter(backend_policy, encounter_from_json(case["encounter"]))
    actual = sorted((_local(f.rule), f.field, f.severity) for f in result.findings)
    expected = sorted((f["rule"], f["field"], f["severity"]) for f in case["expect"]["findings"])
    assert actual == expected
    assert result.conforms == case["expect"]["conforms"]


def test_every_enforced_rule_version_has_both_kinds_of_case(backend_policy: PolicyGraph) -> None:
    shapes = shapes_graph(backend_policy)
    enforced = {
        _local(str(rule))
        for shape in shapes.subjects(RDF.type, SH.NodeShape)
        for rule in shapes.objects(shape, PK.enforces)
        if str(rule).startswith(str(RV))
    }
    conforming = {rule for c in CASES.values() if c["expect"]["conforms"] for rule in c["rules"]}
    violating = {
        f["rule"] for c in CASES.values() for f in c["expect"]["findings"] if f["severity"] == "violation"
    }
    missing = sorted(r for r in enforced if r not in conforming or r not in violating)
    assert not missing, f"rule versions without a conforming and a violating case: {missing}"
