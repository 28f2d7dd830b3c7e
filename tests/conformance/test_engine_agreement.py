"""The compiled SHACL engine and pyshacl (the reference) agree, and the direct JSON mapping gives
the graph rdflib's JSON-LD parser gives.

Compared per result: focus node, path, constraint component, source shape and severity.

pyshacl is the expensive oracle (about 1.4 s of CPU per encounter over the derived shapes, most
of it proving that rules of other payers do not apply), so `make test` runs it once per payer, with
the shapes that payer's encounters can reach, on a sample that reaches every kind of result: from the
shipped encounter cases and the distinct generated encounters, a small set (``covering_cases``)
whose results together give every (shape template, component) result any of them gives, a
template being a shape's structure without its constants (``shape_template``: the rule versions of
one kind and scope differ only in codes, payers, dates and messages, which the compiled engine
evaluates with the same code), with a conforming and a violating encounter for each payer. The
generator draws from 7 templates and 5 mistakes, 42 distinct encounters in all; the 300 of seed
``GENERATED_SEED`` hold every one of them, so the sample reaches every result the 2,000 of the
full run reach. Every case, and the 2,000, run in the ``slow`` tests (`make test-slow`).
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from benchmarks.encounters import generate
from rdflib import RDF, SH, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.term import Node

from payerkg.graph import snapshot
from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.namespaces import PK
from payerkg.validation.encounter import context_document, encounter_from_json, normalized_document
from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph, Triple
from payerkg.validation.shacl.production import pyshacl_results
from payerkg.validation.shacl.report import Result
from payerkg.validation.validate import compiled_shapes, shapes_graph

CASE_FILES = {
    path.stem: path for path in sorted((default_data_root() / "policies").glob("*/cases/encounters/*.json"))
}
GENERATED = 300
GENERATED_SEED = 524
FULL_RUN = 2000
FULL_RUN_SEED = 2026
JSON_LD_CHECKED = 200  # generated encounters also parsed as JSON-LD


@pytest.fixture(scope="module")
def cases() -> dict[str, dict[str, Any]]:
    """Each shipped encounter case's encounter, by case name."""
    return {name: json.loads(path.read_text())["encounter"] for name, path in CASE_FILES.items()}


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    """The distinct encounters among the generated ones (the first of each)."""
    distinct: dict[str, dict[str, Any]] = {}
    for document in generate(GENERATED, seed=GENERATED_SEED):
        content = json.dumps({k: v for k, v in document.items() if k != "id"}, sort_keys=True)
        distinct.setdefault(content, document)
    assert len(distinct) == 42, "the generator's templates and mistakes changed; revisit GENERATED_SEED"
    return list(distinct.values())


def _comparable(results: list[Result]) -> set[tuple[Any, ...]]:
    return {(r.focus, r.path, r.component, r.source_shape, r.severity) for r in results}


def _assert_engines_agree(
    policy: PolicyGraph, documents: Iterable[dict[str, Any]], *, by_payer: bool = False
) -> set[tuple[Any, ...]]:
    """Both engines' results on one data graph of all ``documents``, equal; returns them. Each
    encounter has its own IRI and its nested nodes are blank, so together they give the results each
    gives alone. pyshacl judges them in one call, or ``by_payer``, one call per payer with every
    shape but those whose own situation names only other payers (``shapes_for_payer``): pyshacl
    then skips most of its work, which is proving that a rule of another payer does not apply. The
    compiled engine still judges every encounter against every shape, so a result it gives from a
    shape left out appears as a disagreement."""
    shapes = shapes_graph(policy)
    groups: dict[str | None, list[Triple]] = {}
    for document in documents:
        payer = document.get("payer") if by_payer else None
        groups.setdefault(payer, []).extend(encounter_from_json(document).triples)
    reference: set[tuple[Any, ...]] = set()
    for payer, triples in groups.items():
        batch = Graph()
        for triple in triples:
            batch.add(triple)
        used = None if payer is None else shapes_for_payer(shapes, Literal(payer))
        reference |= _comparable(pyshacl_results(shapes, batch, used))
    every_triple = [triple for triples in groups.values() for triple in triples]
    compiled = _comparable(compiled_shapes(policy).validate(IndexedGraph(every_triple)))
    only_reference, only_compiled = sorted(reference - compiled), sorted(compiled - reference)
    assert not only_reference and not only_compiled, (
        f"pyshacl only: {only_reference[:10]}\ncompiled only: {only_compiled[:10]}"
    )
    return reference


def shapes_for_payer(shapes: Graph, payer: Literal) -> list[URIRef]:
    """The node shapes but those that cannot give a result on an encounter of ``payer``: a shape
    ``sh:or ( [ sh:not [ sh:and ( ... ) ] ] ... )`` whose situation (the ``sh:and``) requires the
    encounter's payer to be in an ``sh:in`` list without ``payer`` is satisfied by the ``sh:not``."""
    kept = []
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        assert isinstance(shape, URIRef), "pyshacl selects shapes by IRI"
        if payer not in _situation_payers(shapes, shape, default=payer):
            continue
        kept.append(shape)
    return kept


def _situation_payers(shapes: Graph, shape: Node, default: Literal) -> set[Node]:
    """The payers a shape's situation (its first ``sh:or`` member's ``sh:not``) allows, or
    ``{default}`` when it has no such situation."""
    options = _members(shapes, shapes.value(shape, SH["or"]))
    situation = shapes.value(options[0], SH["not"]) if options else None
    if situation is None:  # never looked up as None: rdflib reads a None subject as "any"
        return {default}
    for condition in _members(shapes, shapes.value(situation, SH["and"])):
        for prop in shapes.objects(condition, SH.property):
            path = _members(shapes, shapes.value(prop, SH.path))
            if path and path[-1] == PK.encounterPayer:
                return set(_members(shapes, shapes.value(prop, SH["in"])))
    return {default}


def _members(shapes: Graph, head: Node | None) -> list[Node]:
    return list(Collection(shapes, head)) if isinstance(head, BNode) else []


def test_every_shape_is_compiled(policy: PolicyGraph) -> None:
    assert compiled_shapes(policy).complete, "a shape fell back to pyshacl; extend the compiled subset"


def shape_template(shapes: Graph, shape: Node) -> Hashable:
    """A shape's structure with its constants left out: value lists, literals (by datatype), IRIs
    outside the SHACL, RDF and payerkg vocabularies, messages and the rule it enforces."""
    parts: list[tuple[str, Hashable]] = []
    for predicate, value in shapes.predicate_objects(shape):
        if predicate in (SH.message, PK.enforces):
            continue
        if predicate == SH["in"]:
            parts.append((str(predicate), "list"))
        elif isinstance(value, BNode):
            parts.append((str(predicate), shape_template(shapes, value)))
        elif isinstance(value, Literal):
            parts.append((str(predicate), ("literal", str(value.datatype or ""))))
        else:
            vocabulary = str(value).startswith((str(SH), str(RDF), str(PK)))
            parts.append((str(predicate), str(value) if vocabulary else "iri"))
    return tuple(sorted(parts, key=repr))


def covering_cases(policy: PolicyGraph, cases: dict[str, dict[str, Any]]) -> list[str]:
    """A small set of names (greedy set cover) whose encounters' compiled results hold every
    (shape template, component) pair that any of ``cases`` gives, with a conforming and a
    violating encounter of each payer where they have them."""
    compiled, shapes = compiled_shapes(policy), shapes_graph(policy)
    templates: dict[Node, Hashable] = {}
    reaches: dict[str, set[Hashable]] = {}
    for name, document in cases.items():
        results = compiled.validate(IndexedGraph(encounter_from_json(document).triples))
        for result in results:
            if result.source_shape not in templates:
                templates[result.source_shape] = shape_template(shapes, result.source_shape)
        reaches[name] = {(templates[r.source_shape], str(r.component)) for r in results} | {
            ("payer", str(document.get("payer")), "conforms" if not results else "violates")
        }
    wanted, reached, chosen = set[Hashable]().union(*reaches.values()), set[Hashable](), []
    while reached != wanted:
        best = max(sorted(reaches), key=lambda name: len(reaches[name] - reached))
        chosen.append(best)
        reached |= reaches[best]
    return chosen


def test_engines_agree_on_a_sample_that_reaches_every_result(
    policy: PolicyGraph, cases: dict[str, dict[str, Any]], generated: list[dict[str, Any]]
) -> None:
    candidates = {**cases, **{f"generated {document['id']}": document for document in generated}}
    chosen = covering_cases(policy, candidates)
    assert len(chosen) < len(candidates)
    assert any(name.startswith("generated ") for name in chosen), "the generator no longer adds a result"
    results = _assert_engines_agree(policy, [candidates[name] for name in chosen], by_payer=True)
    assert len(results) > 10, "the sample should violate rules"


def test_pyshacl_gives_no_result_from_the_shapes_left_out_for_a_payer(
    policy: PolicyGraph, cases: dict[str, dict[str, Any]]
) -> None:
    """What leaving shapes out ``by_payer`` rests on, checked on one violating case of a payer
    that is not Medicare (most shapes are Medicare's)."""
    shapes = shapes_graph(policy)
    name = "violates-uhc-video-home-pos-11-2024"
    document = cases[name]
    every = {shape for shape in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(shape, URIRef)}
    left_out = sorted(every - set(shapes_for_payer(shapes, Literal(document["payer"]))))
    assert len(left_out) > len(every) / 2
    data = Graph()
    for triple in encounter_from_json(document).triples:
        data.add(triple)
    assert pyshacl_results(shapes, data) != [], f"{name} should violate a rule"
    assert pyshacl_results(shapes, data, left_out) == []


def test_shapes_compiled_when_first_reached_give_the_results_of_shapes_compiled_at_once(
    policy: PolicyGraph, cases: dict[str, dict[str, Any]], generated: list[dict[str, Any]]
) -> None:
    shapes = shapes_graph(policy)
    at_once = CompiledShapes(shapes)
    when_reached = pickle.loads(snapshot.dumps(at_once))  # as a start-up snapshot keeps it
    assert when_reached.compiled_count == 0
    violating = 0
    for document in [*cases.values(), *generated]:
        triples = encounter_from_json(document).triples
        # One data graph each: a data graph keeps path values by the numbers one compilation gave.
        expected = at_once.validate(IndexedGraph(triples))
        assert when_reached.validate(IndexedGraph(triples)) == expected, document.get("id")
        violating += bool(expected)
    assert violating > 50


def test_threads_that_first_reach_shapes_together_get_the_results_of_shapes_compiled_at_once(
    policy: PolicyGraph, cases: dict[str, dict[str, Any]], generated: list[dict[str, Any]]
) -> None:
    """A service's threads share one restored engine and may reach the same uncompiled shapes at
    once: each shape is compiled once, under the engine's lock, and every verdict is the same."""
    at_once = CompiledShapes(shapes_graph(policy))
    documents = [encounter_from_json(d).triples for d in [*cases.values(), *generated]]
    expected = [at_once.validate(IndexedGraph(triples)) for triples in documents]
    restored = pickle.loads(snapshot.dumps(at_once))
    start = threading.Barrier(4)

    def judge_all(offset: int) -> list[list[Result]]:
        start.wait()  # all four threads reach the first shapes together
        order = documents[offset:] + documents[:offset]
        found = [restored.validate(IndexedGraph(triples)) for triples in order]
        return found[len(documents) - offset :] + found[: len(documents) - offset]

    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(judge_all, [0, 0, len(documents) // 3, len(documents) // 2]))
    assert all(found == expected for found in verdicts)
    assert 0 < restored.compiled_count <= at_once.compiled_count


@pytest.mark.slow
def test_engines_agree_on_every_case(policy: PolicyGraph, cases: dict[str, dict[str, Any]]) -> None:
    results = _assert_engines_agree(policy, cases.values())
    assert len(results) > 10, "the cases should violate rules"


@pytest.mark.slow
def test_engines_agree_on_full_generated_run(policy: PolicyGraph) -> None:
    results = _assert_engines_agree(policy, generate(FULL_RUN, seed=FULL_RUN_SEED))
    assert len(results) > 100, "the generated batch should violate rules"


@pytest.mark.parametrize("name", sorted(CASE_FILES))
def test_json_mapping_matches_rdflib_json_ld_on_case(cases: dict[str, dict[str, Any]], name: str) -> None:
    _assert_json_mapping_matches_json_ld(cases[name])


def test_json_mapping_matches_rdflib_json_ld_on_generated(generated: list[dict[str, Any]]) -> None:
    for document in generated[:JSON_LD_CHECKED]:
        _assert_json_mapping_matches_json_ld(document)


def _assert_json_mapping_matches_json_ld(document: dict[str, Any]) -> None:
    reference = Graph().parse(
        data=json.dumps({**context_document(), **normalized_document(document)}), format="json-ld"
    )
    assert isomorphic(reference, encounter_from_json(document).graph), document["id"]
