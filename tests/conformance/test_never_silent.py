"""Validation never says "conforms" when it does not know (issue 14): typed or language-tagged
text in Turtle, an unknown payer and a code in no code set are findings, from both engines alike.
The encounters and their expected findings are files in tests/conformance/never-silent/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from payerkg.graph.dataset import PolicyGraph
from payerkg.validation.encounter import Encounter, parse_encounter
from payerkg.validation.validate import Engine, ValidationResult, validate_encounter

HERE = Path(__file__).parent / "never-silent"
EXPECTED: dict[str, dict[str, Any]] = json.loads((HERE / "expected.json").read_text())["cases"]
MEDIA = {".ttl": "text/turtle", ".json": "application/json"}
ENGINES: list[Engine] = ["compiled", "pyshacl"]


def load(name: str) -> Encounter:
    path = HERE / name
    return parse_encounter(path.read_bytes(), MEDIA[path.suffix])


def findings(result: ValidationResult) -> list[list[str | None]]:
    return sorted(
        [f.field, f.constraint.rsplit("#", 1)[-1], f.severity, f.rule.rsplit("/", 1)[-1] if f.rule else None]
        for f in result.findings
    )


def check(result: ValidationResult, expected: dict[str, Any]) -> None:
    assert findings(result) == sorted(expected["findings"])
    assert result.no_violations == expected["conforms"]
    if "names" in expected:
        assert any(expected["names"] in f.message for f in result.findings)


def test_every_file_has_an_expectation() -> None:
    assert set(EXPECTED) == {
        p.name for p in HERE.iterdir() if p.suffix in MEDIA and p.name != "expected.json"
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_never_silent(policy: PolicyGraph, name: str, engine: Engine) -> None:
    result = validate_encounter(policy, load(name), engine)
    check(result, EXPECTED[name])
