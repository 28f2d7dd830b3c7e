"""docs/encounter-format.md documents every field of the published JSON Schema."""

from __future__ import annotations

from pathlib import Path

from payerkg.validation.encounter import context_document, json_schema

DOC = (Path(__file__).resolve().parents[2] / "docs" / "encounter-format.md").read_text()


def test_every_schema_field_is_documented() -> None:
    schema = json_schema()
    fields = [name for name in schema["properties"] if not name.startswith("@")]
    for name in fields:
        assert f"`{name}" in DOC, name
    for name in schema["properties"]["lines"]["items"]["properties"]:
        assert f"`{name}`" in DOC, name


def test_every_context_term_is_a_schema_field() -> None:
    terms = {k for k in context_document()["@context"] if not k.startswith("@") and ":" not in k}
    schema = json_schema()
    fields = schema["properties"]
    known = set(fields) | set(fields["lines"]["items"]["properties"])
    known |= {name for field in fields.values() if "properties" in field for name in field["properties"]}
    known |= {"line_number", "pk", "xsd"}
    assert terms <= known
