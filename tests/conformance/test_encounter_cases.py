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

from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.namespaces import PK, RV
from payerkg.validation.encounter import encounter_from_json
from payerkg.validation.validate import shapes_graph, validate_encounter

CASE_FILES = {
    path.stem: path for path in sorted((default_data_root() / "policies").glob("*/cases/encounters/*.json"))
}


@pytest.fixture(scope="module")
def cases() -> dict[str, dict[str, Any]]:
    """Every encounter case, by name."""
    return {name: json.loads(path.read_text()) for name, path in CASE_FILES.items()}


def _local(iri: str | None) -> str | None:
    return iri.rsplit("/", 1)[-1] if iri else None


def test_case_names_say_why(cases: dict[str, dict[str, Any]]) -> None:
    assert cases
    for name, case in cases.items():
        assert name.startswith(("conforms-", "violates-")), name
        assert case["encounter"]["id"] == name
        assert case["expect"]["conforms"] == name.startswith("conforms-")


@pytest.mark.parametrize("name", sorted(CASE_FILES))
def test_encounter_case(backend_policy: PolicyGraph, cases: dict[str, dict[str, Any]], name: str) -> None:
    case = cases[name]
    result = validate_encounter(backend_policy, encounter_from_json(case["encounter"]))
    actual = sorted((_local(f.rule), f.field, f.severity) for f in result.findings)
    expected = sorted((f["rule"], f["field"], f["severity"]) for f in case["expect"]["findings"])
    assert actual == expected
    assert result.no_violations == case["expect"]["conforms"]


def test_every_enforced_rule_version_has_both_kinds_of_case(
    backend_policy: PolicyGraph, cases: dict[str, dict[str, Any]]
) -> None:
    shapes = shapes_graph(backend_policy)
    enforced = {
        _local(str(rule))
        for shape in shapes.subjects(RDF.type, SH.NodeShape)
        for rule in shapes.objects(shape, PK.enforces)
        if str(rule).startswith(str(RV))
    }
    # A version whose shapes can only warn (an attestation to record) needs a case with its warning.
    can_violate = {
        _local(str(rule))
        for shape, rule in shapes.subject_objects(PK.enforces)
        if shapes.value(shape, SH.severity, default=SH.Violation) == SH.Violation
    }
    conforming = {rule for c in cases.values() if c["expect"]["conforms"] for rule in c["rules"]}
    failing = {(f["rule"], f["severity"]) for c in cases.values() for f in c["expect"]["findings"]}
    violating = {
        rule for rule in enforced if (rule, "violation" if rule in can_violate else "warning") in failing
    }
    missing = sorted(str(r) for r in enforced if r not in conforming or r not in violating)
    assert not missing, f"rule versions without a conforming and a violating case: {missing}"
