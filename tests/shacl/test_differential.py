"""The compiled engine against pyshacl (the reference) on generated shapes and data (Hypothesis).

Each example is one node shape with a target, a few node-level constraints and one property shape
on a generated path with a few constraints, drawn from every component the engine compiles, over
a small data graph. The examples are fixed (derandomized) and bounded, so the test takes seconds.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph

from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.production import pyshacl_results
from payerkg.validation.shacl.report import Result

PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
"""
# Shapes the generated ones refer to: a node shape, and a property shape (for logical members).
FIXED = """ex:N sh:class ex:C .
ex:M sh:path ex:p ; sh:minCount 1 .
ex:Off sh:deactivated true ; sh:hasValue ex:nothing .
"""
NODES = ["ex:n0", "ex:n1", "ex:n2", "ex:n3"]
LITERALS = ["1", "2", "2.5", "true", '"a"', '"b"', '"ab"', '"a"@en', '"b"@en', '"a"@fr', '"1"^^xsd:string']
VALUES = NODES + LITERALS
PATHS = [
    "ex:p",
    "ex:q",
    "[ sh:inversePath ex:p ]",
    "( ex:p ex:q )",
    "[ sh:alternativePath ( ex:p ex:q ) ]",
    "[ sh:zeroOrMorePath ex:p ]",
    "[ sh:oneOrMorePath ex:p ]",
    "[ sh:zeroOrOnePath ex:q ]",
    "( [ sh:inversePath ex:p ] ex:q )",
]
# Constraints valid on node and property shapes alike.
ANY_SHAPE = [
    "sh:class ex:C",
    "sh:datatype xsd:integer",
    "sh:datatype xsd:string",
    "sh:datatype rdf:langString",
    "sh:nodeKind sh:IRI",
    "sh:nodeKind sh:Literal",
    "sh:nodeKind sh:BlankNodeOrIRI",
    'sh:in ( ex:n1 1 "a" )',
    "sh:hasValue ex:n1",
    "sh:hasValue 1",
    "sh:minInclusive 1",
    "sh:maxInclusive 2",
    "sh:minExclusive 1",
    'sh:maxExclusive "b"',
    "sh:minLength 2",
    "sh:maxLength 1",
    'sh:pattern "^a"',
    'sh:pattern "B$" ; sh:flags "i"',
    'sh:languageIn ( "en" )',
    "sh:equals ex:q",
    "sh:disjoint ex:q",
    "sh:node ex:N",
    "sh:not ex:N",
    "sh:not ex:Off",
    "sh:or ( ex:N ex:M )",
    "sh:and ( ex:N ex:M )",
    "sh:xone ( ex:N ex:M )",
]
PROPERTY_ONLY = [
    "sh:minCount 1",
    "sh:minCount 2",
    "sh:maxCount 1",
    "sh:uniqueLang true",
    "sh:lessThan ex:q",
    "sh:lessThanOrEquals ex:q",
    "sh:qualifiedValueShape ex:N ; sh:qualifiedMinCount 1",
    "sh:qualifiedValueShape ex:M ; sh:qualifiedMaxCount 0",
]
NODE_ONLY = ["sh:closed true ; sh:ignoredProperties ( rdf:type )"]
TARGETS = [
    "sh:targetClass ex:C",
    "sh:targetNode ex:n0, ex:n1",
    "sh:targetSubjectsOf ex:p",
    "sh:targetObjectsOf ex:q",
]

triples = st.lists(
    st.tuples(st.sampled_from(NODES), st.sampled_from(["ex:p", "ex:q"]), st.sampled_from(VALUES))
    | st.tuples(st.sampled_from(NODES), st.just("a"), st.sampled_from(["ex:C", "ex:D"])),
    max_size=12,
)


@st.composite
def shapes_graphs(draw: st.DrawFn) -> str:
    node = draw(st.lists(st.sampled_from(ANY_SHAPE + NODE_ONLY), max_size=2, unique_by=lambda c: c.split()[0]))
    prop = draw(st.lists(st.sampled_from(ANY_SHAPE + PROPERTY_ONLY), min_size=1, max_size=3, unique_by=lambda c: c.split()[0]))
    path = draw(st.sampled_from(PATHS))
    target = draw(st.sampled_from(TARGETS))
    node_text = "".join(f" ; {c}" for c in node)
    prop_text = "".join(f" ; {c}" for c in prop)
    return f"{FIXED}ex:S a sh:NodeShape ; {target} ; sh:property ex:P{node_text} .\nex:P sh:path {path}{prop_text} .\n"


def comparable(results: list[Result]) -> Counter[tuple[object, ...]]:
    return Counter((r.focus, r.path, r.value, r.component, r.source_shape, r.severity) for r in results)


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(shapes_text=shapes_graphs(), data=triples)
def test_compiled_engine_agrees_with_pyshacl(shapes_text: str, data: list[tuple[str, str, str]]) -> None:
    shapes = Graph().parse(data=PREFIXES + shapes_text, format="turtle")
    data_text = "ex:D rdfs:subClassOf ex:C .\n" + "".join(f"{s} {p} {o} .\n" for s, p, o in data)
    data_graph = Graph().parse(data=PREFIXES + data_text, format="turtle")
    compiled = CompiledShapes(shapes)
    assert compiled.complete and not compiled.errors, compiled.errors
    found = comparable(compiled.validate(IndexedGraph(list(data_graph))))  # type: ignore[arg-type]
    reference = comparable(pyshacl_results(shapes, data_graph))
    assert found == reference, (
        f"\n{shapes_text}\n{data_text}\ncompiled only: {found - reference}\npyshacl only: {reference - found}"
    )
