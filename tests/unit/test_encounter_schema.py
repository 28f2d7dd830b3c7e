"""The encounter JSON Schema's check, generated ahead of time, matches the shipped schema."""

from __future__ import annotations

from payerkg.validation import schema_gen
from payerkg.validation.encounter import json_schema


def test_generated_check_matches_the_schema() -> None:
    expected = schema_gen.render(json_schema())
    assert schema_gen.MODULE.read_text(encoding="utf-8") == expected, (
        "run python -m payerkg.validation.schema_gen"
    )
