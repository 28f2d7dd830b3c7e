"""The compiled engine skips an implication shape when a focus cannot meet its conditions, and
only then: small shapes judged by both engines, pyshacl being the reference.
"""

from __future__ import annotations

from rdflib import Graph

from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.production import pyshacl_results
from payerkg.validation.shacl.report import Result

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
"""
SHAPES = (
    PREFIXES
    + """
# "if the code is A or B and the payer is p, minutes are needed": gated on code and payer.
ex:Implication a sh:NodeShape ; sh:targetSubjectsOf ex:code ;
    sh:or ( [ sh:not [ sh:and (
                [ sh:property [ sh:path ex:code ; sh:minCount 1 ; sh:in ( "A" "B" ) ] ]
                [ sh:property [ sh:path ( [ sh:inversePath ex:line ] ex:payer ) ; sh:hasValue "p" ] ] ) ] ]
            [ sh:property [ sh:path ex:minutes ; sh:minCount 1 ] ] ) .

# The same form plus a constraint of its own, which holds whatever the code: never gated.
ex:ImplicationAndMore a sh:NodeShape ; sh:targetSubjectsOf ex:code ;
    sh:or ( [ sh:not [ sh:property [ sh:path ex:code ; sh:minCount 1 ; sh:in ( "A" ) ] ] ]
            [ sh:property [ sh:path ex:minutes ; sh:minCount 1 ] ] ) ;
    sh:property ex:UnitsNeeded .
ex:UnitsNeeded sh:path ex:units ; sh:minCount 1 .
"""
)
DATA = (
    PREFIXES
    + """
ex:e1 ex:payer "p" ; ex:line ex:a, ex:c, ex:cb, ex:done .
ex:a ex:code "A" .
ex:c ex:code "C" .
ex:cb ex:code "C", "B" .
ex:done ex:code "A" ; ex:minutes 3 ; ex:units 1 .
ex:e2 ex:payer "q" ; ex:line ex:other-payer .
ex:other-payer ex:code "A" ; ex:units 1 .
ex:e3 ex:payer "q", "p" ; ex:line ex:two-payers .
ex:two-payers ex:code "B" .
"""
)
EX = "https://example.org/"


def _reported(results: list[Result]) -> set[tuple[str, str]]:
    return {(str(r.focus).removeprefix(EX), str(r.source_shape).removeprefix(EX)) for r in results}


def test_gated_shapes_agree_with_pyshacl() -> None:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = Graph().parse(data=DATA, format="turtle")
    compiled = CompiledShapes(shapes).validate(IndexedGraph(data))  # type: ignore[arg-type]  # a Graph's triples
    reference = pyshacl_results(shapes, data)

    assert _reported(compiled) == _reported(reference)
    assert _reported(compiled) == {
        ("a", "Implication"),
        ("two-payers", "Implication"),  # one of its payers opens the shape
        ("a", "ImplicationAndMore"),
        ("other-payer", "ImplicationAndMore"),
        ("a", "UnitsNeeded"),
        ("c", "UnitsNeeded"),  # no code A, but no units either
        ("cb", "UnitsNeeded"),  # code B opens Implication, but C is not in its list
        ("two-payers", "UnitsNeeded"),
    }
