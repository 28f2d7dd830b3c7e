"""The closed pk: namespace matches the ontology, and every PK term the code names is declared there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from payerkg import namespaces_gen
from payerkg.namespaces import PK
from payerkg.ontology_terms import PK_TERMS

ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("service", "tests", "benchmarks")


def test_generated_module_matches_the_ontology() -> None:
    expected = namespaces_gen.render(namespaces_gen.declared_terms(ROOT))
    assert namespaces_gen.MODULE.read_text() == expected, "run python -m payerkg.namespaces_gen"


def _pk_attributes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "PK"
    }


@pytest.mark.parametrize("folder", CODE_FOLDERS)
def test_every_pk_term_named_in_code_is_declared(folder: str) -> None:
    named = {
        (path.relative_to(ROOT).as_posix(), term)
        for path in sorted((ROOT / folder).rglob("*.py"))
        for term in _pk_attributes(path)
    }
    assert named or folder != "service"
    assert sorted((where, term) for where, term in named if term not in PK_TERMS) == []


def test_a_misspelt_term_raises_instead_of_minting_an_iri() -> None:
    assert PK.effectiveStart is PK["effectiveStart"]
    assert str(PK.effectiveStart) == PK + "effectiveStart"
    with pytest.raises(AttributeError, match="effectiveStrat"):
        getattr(PK, "effectiveStrat")  # noqa: B009 (a literal PK.effectiveStrat fails the test above)
    with pytest.raises(KeyError):
        PK["effectiveStrat"]
