"""The compiled engine against pyshacl (the reference) on generated shapes and data (Hypothesis).

Each example is one node shape with a target, a few node-level constraints and one property shape
on a generated path with a few constraints, over a small data graph. Every constraint the engine
compiles is forced into a fixed number of examples (derandomized), so each is exercised and the
test stays bounded.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

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


@st.composite
def data_graphs(draw: st.DrawFn) -> str:
    """Each node: a type or none, and up to three values on each of ex:p and ex:q, drawn from a
    shuffle of every kind of value (so each example holds varied ones)."""
    lines = ["ex:D rdfs:subClassOf ex:C ."]
    for node in NODES:
        kind = draw(st.sampled_from([None, "ex:C", "ex:D"]))
        if kind is not None:
            lines.append(f"{node} a {kind} .")
        values = draw(st.permutations(VALUES))
        p_count, q_count = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        lines += [f"{node} ex:p {v} ." for v in values[:p_count]]
        lines += [f"{node} ex:q {v} ." for v in values[p_count : p_count + q_count]]
    return "\n".join(lines)


EXAMPLES_PER_CONSTRAINT = 10


def shapes_graphs(forced: str) -> st.SearchStrategy[str]:
    """Shapes with ``forced`` on the node shape (if it may go there) or on the property shape,
    and up to two other constraints on each."""
    others = st.lists(st.sampled_from(ANY_SHAPE), max_size=2, unique_by=lambda c: c.split()[0])

    @st.composite
    def build(draw: st.DrawFn) -> str:
        on_node = forced in NODE_ONLY or (forced in ANY_SHAPE and draw(st.booleans()))
        node = [c for c in draw(others) if c.split()[0] != forced.split()[0]]
        prop = [c for c in draw(others) if c.split()[0] != forced.split()[0]]
        (node if on_node else prop).append(forced)
        path, target = draw(st.sampled_from(PATHS)), draw(st.sampled_from(TARGETS))
        node_text = "".join(f" ; {c}" for c in node)
        prop_text = "".join(f" ; {c}" for c in prop)
        return (
            f"{FIXED}ex:S a sh:NodeShape ; {target} ; sh:property ex:P{node_text} .\n"
            f"ex:P sh:path {path}{prop_text} .\n"
        )

    return build()


ORDERING = {
    SH[f"{name}ConstraintComponent"]
    for name in ("MinInclusive", "MaxInclusive", "MinExclusive", "MaxExclusive")
}
PAIRS = {SH.LessThanConstraintComponent, SH.LessThanOrEqualsConstraintComponent}
ORDERING |= PAIRS
EX_Q = URIRef("https://example.org/q")


def _pyshacl_orders_it(key: tuple[object, ...], data: Graph) -> bool:
    """The one known disagreement: pyshacl orders what SPARQL does not (an IRI among IRIs, a
    boolean among numbers, a language-tagged string among plain ones), where the engine follows
    SPARQL and reports them (issue 15). Such results are left out on both sides."""
    focus, value, component = key[0], key[2], key[3]
    if component not in ORDERING:
        return False
    compared = [value, *data.objects(focus, EX_Q)] if component in PAIRS else [value]  # type: ignore[arg-type]
    return not all(
        isinstance(v, Literal) and v.datatype != XSD.boolean and v.language is None for v in compared
    )


def comparable(results: list[Result]) -> Counter[tuple[object, ...]]:
    return Counter((r.focus, r.path, r.value, r.component, r.source_shape, r.severity) for r in results)


@pytest.mark.parametrize("forced", ANY_SHAPE + PROPERTY_ONLY + NODE_ONLY)
def test_compiled_engine_agrees_with_pyshacl(forced: str) -> None:
    @settings(
        max_examples=EXAMPLES_PER_CONSTRAINT,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(shapes_text=shapes_graphs(forced), data_text=data_graphs())
    def agree(shapes_text: str, data_text: str) -> None:
        shapes = Graph().parse(data=PREFIXES + shapes_text, format="turtle")
        data_graph = Graph().parse(data=PREFIXES + data_text, format="turtle")
        compiled = CompiledShapes(shapes)
        assert compiled.complete, compiled.errors
        found = comparable(compiled.validate(IndexedGraph(list(data_graph))))  # type: ignore[arg-type]
        reference = comparable(pyshacl_results(shapes, data_graph))
        for counts in (found, reference):
            for key in [k for k in counts if _pyshacl_orders_it(k, data_graph)]:
                del counts[key]
        only_compiled, only_pyshacl = found - reference, reference - found
        assert found == reference, f"\n{shapes_text}\n{data_text}\n{only_compiled=}\n{only_pyshacl=}"

    agree()
