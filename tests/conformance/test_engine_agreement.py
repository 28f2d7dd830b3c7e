"""The compiled SHACL engine and pyshacl (the reference) agree, and the direct JSON mapping gives
the graph rdflib's JSON-LD parser gives.

Compared per result: focus node, path, constraint component, source shape and severity.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from benchmarks.encounters import generate
from rdflib import Graph
from rdflib.compare import isomorphic

from payerkg.core.compiled_shacl import IndexedGraph, Result
from payerkg.core.dataset import PolicyGraph, default_data_root
from payerkg.core.encounter import context_document, encounter_from_json, normalized_document
from payerkg.core.validation import compiled_shapes, pyshacl_results, shapes_graph

CASES = {
    path.stem: json.loads(path.read_text())["encounter"]
    for path in sorted((default_data_root() / "policies").glob("*/cases/encounters/*.json"))
}
GENERATED = generate(2000, seed=2026)


def _comparable(results: list[Result]) -> set[tuple[Any, ...]]:
    return {(r.focus, r.path, r.component, r.source_shape, r.severity) for r in results}


def test_every_shape_is_compiled(policy: PolicyGraph) -> None:
    assert compiled_shapes(policy).complete, "a shape fell back to pyshacl; extend the compiled subset"


@pytest.mark.parametrize("name", sorted(CASES))
def test_engines_agree_on_case(policy: PolicyGraph, name: str) -> None:
    encounter = encounter_from_json(CASES[name])
    reference = pyshacl_results(shapes_graph(policy), encounter.graph)
    compiled = compiled_shapes(policy).validate(IndexedGraph(encounter.triples))
    assert _comparable(compiled) == _comparable(reference)


def test_engines_agree_on_generated_batch(policy: PolicyGraph) -> None:
    batch = Graph()
    for document in GENERATED:
        for triple in encounter_from_json(document).triples:
            batch.add(triple)
    reference = pyshacl_results(shapes_graph(policy), batch)
    compiled = compiled_shapes(policy).validate(IndexedGraph(batch))
    assert len(reference) > 100, "the generated batch should violate rules"
    assert _comparable(compiled) == _comparable(reference)


@pytest.mark.parametrize("document", [*CASES.values(), *GENERATED[:200]], ids=lambda d: d["id"])
def test_json_mapping_matches_rdflib_json_ld(document: dict[str, Any]) -> None:
    reference = Graph().parse(
        data=json.dumps({**context_document(), **normalized_document(document)}), format="json-ld"
    )
    assert isomorphic(reference, encounter_from_json(document).graph)
