"""The compiled engine on each point of issue 15's behaviour list, and pyshacl where it agrees.

Each test states its shapes and data in Turtle; results are compared by focus node, path,
value, constraint component and source shape.
"""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph
from payerkg.validation.shacl.production import ShapesError, pyshacl_results, validate, validate_graph
from payerkg.validation.shacl.report import Result

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
"""
EX = "https://example.org/"


def graph(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


def short(node: object) -> str:
    if isinstance(node, URIRef):
        return str(node).removeprefix(EX).removeprefix(str(SH))
    return "_" if isinstance(node, BNode) else str(node)


def reported(results: list[Result]) -> list[tuple[str, ...]]:
    """Focus, value, component and source shape of each result, in a fixed order."""
    return sorted(
        (
            short(r.focus),
            short(r.value),
            short(r.component).removesuffix("ConstraintComponent"),
            short(r.source_shape),
        )
        for r in results
    )


def compiled_results(shapes: str, data: str) -> list[tuple[str, ...]]:
    compiled = CompiledShapes(graph(shapes))
    assert compiled.complete and not compiled.errors
    return reported(compiled.validate(IndexedGraph(list(graph(data)))))  # type: ignore[arg-type]


def both(shapes: str, data: str) -> list[tuple[str, ...]]:
    """The compiled engine's results, after checking pyshacl reaches the same."""
    found = compiled_results(shapes, data)
    assert found == reported(pyshacl_results(graph(shapes), graph(data)))
    return found


def test_given_focus_nodes_only_their_results_are_given_nested_shapes_still_reading_other_nodes() -> None:
    shapes = graph("""ex:Person a rdfs:Class, sh:NodeShape ; sh:property ex:NameNeeded, ex:FriendNamed .
        ex:NameNeeded sh:path ex:name ; sh:minCount 1 .
        ex:FriendNamed sh:path ex:friend ; sh:node [ sh:property [ sh:path ex:name ; sh:minCount 1 ] ] .""")
    data = graph("""ex:ann a ex:Person ; ex:name "Ann" ; ex:friend ex:bob .
        ex:bob a ex:Person ; ex:friend ex:eve . ex:eve a ex:Person ; ex:name "Eve" .""")
    compiled, indexed = CompiledShapes(shapes), IndexedGraph(list(data))  # type: ignore[arg-type]
    every = pyshacl_results(shapes, data)
    focus_nodes = {URIRef(EX + "ann"), URIRef(EX + "eve")}
    given = reported(compiled.validate(indexed, focus_nodes))
    assert (
        given
        == reported([r for r in every if r.focus in focus_nodes])
        == [("ann", "bob", "Node", "FriendNamed")]
    )
    assert reported(validate(compiled, indexed, lambda: data, focus_nodes).results) == given


def test_a_shape_that_is_a_class_targets_its_instances_and_its_subclasses() -> None:
    shapes = """ex:Person a rdfs:Class, sh:NodeShape ; sh:property ex:NameNeeded .
        ex:NameNeeded sh:path ex:name ; sh:minCount 1 ."""
    data = """ex:Student rdfs:subClassOf ex:Person . ex:bob a ex:Student .
        ex:ann a ex:Person ; ex:name "Ann" . ex:eve a ex:Other ."""
    assert both(shapes, data) == [("bob", "None", "MinCount", "NameNeeded")]


def test_target_class_reaches_instances_of_subclasses_of_subclasses() -> None:
    shapes = "ex:S sh:targetClass ex:A ; sh:nodeKind sh:BlankNode ."
    data = "ex:B rdfs:subClassOf ex:A . ex:C rdfs:subClassOf ex:B . ex:c a ex:C . ex:b a ex:B . ex:d a ex:D ."
    assert both(shapes, data) == [("b", "b", "NodeKind", "S"), ("c", "c", "NodeKind", "S")]


def test_lang_string_is_the_datatype_of_language_tagged_literals() -> None:
    shapes = (
        "ex:S sh:targetSubjectsOf ex:label ; sh:property [ sh:path ex:label ; sh:datatype rdf:langString ] ."
    )
    data = 'ex:a ex:label "hi"@en . ex:b ex:label "hi" . ex:c ex:label "hi"^^xsd:string .'
    assert [(focus, value) for focus, value, _, _ in both(shapes, data)] == [("b", "hi"), ("c", "hi")]


@pytest.mark.parametrize(
    ("constraint", "failing"),
    [
        ("sh:or ( [ sh:path ex:a ; sh:minCount 1 ] [ sh:path ex:b ; sh:minCount 1 ] )", ["none"]),
        ("sh:and ( [ sh:path ex:a ; sh:minCount 1 ] [ sh:path ex:b ; sh:minCount 1 ] )", ["a", "b", "none"]),
        ("sh:not [ sh:path ex:a ; sh:minCount 1 ]", ["a"]),
        ("sh:xone ( [ sh:path ex:a ; sh:minCount 1 ] [ sh:path ex:b ; sh:minCount 1 ] )", ["none"]),
    ],
)
def test_property_shapes_nested_in_logical_constraints_keep_their_path(
    constraint: str, failing: list[str]
) -> None:
    shapes = f"ex:S sh:targetNode ex:a, ex:b, ex:none ; {constraint} ."
    data = "ex:a ex:a 1 . ex:b ex:b 1 ."
    assert [focus for focus, *_ in both(shapes, data)] == failing


def test_a_qualified_value_shape_may_be_a_property_shape() -> None:
    shapes = """ex:S sh:targetNode ex:x ; sh:property ex:Two .
        ex:Two sh:path ex:child ; sh:qualifiedMinCount 2 ;
            sh:qualifiedValueShape [ sh:path ex:age ; sh:minCount 1 ] ."""
    assert both(shapes, "ex:x ex:child ex:c1, ex:c2 . ex:c1 ex:age 3 .") == [
        ("x", "None", "QualifiedMinCount", "Two")
    ]
    assert both(shapes, "ex:x ex:child ex:c1, ex:c2 . ex:c1 ex:age 3 . ex:c2 ex:age 4 .") == []


def test_a_nested_deactivated_shape_conforms_to_everything() -> None:
    shapes = """ex:S sh:targetNode ex:x ; sh:node ex:Off .
        ex:Negated sh:targetNode ex:x ; sh:not ex:Off .
        ex:Off sh:deactivated true ; sh:hasValue ex:nothing ."""
    assert both(shapes, "ex:x ex:p 1 .") == [("x", "x", "Not", "Negated")]


def test_range_bounds_report_values_that_do_not_compare() -> None:
    shapes = """ex:Low sh:targetSubjectsOf ex:n ; sh:property [ sh:path ex:n ; sh:minInclusive 0 ] .
        ex:High sh:targetSubjectsOf ex:s ; sh:property [ sh:path ex:s ; sh:maxInclusive "m" ] ."""
    data = 'ex:a ex:n true, 1 . ex:b ex:s "a"@en, "a", "z" .'
    results = CompiledShapes(graph(shapes)).validate(IndexedGraph(list(graph(data))))  # type: ignore[arg-type]
    # A boolean is not a number, a language-tagged string not a plain one: neither is in range.
    assert {r.value for r in results} == {Literal(True), Literal("a", lang="en"), Literal("z")}


def test_pattern_dollar_is_the_end_of_the_string() -> None:
    shapes = 'ex:S sh:targetSubjectsOf ex:code ; sh:property [ sh:path ex:code ; sh:pattern "^[0-9]{5}$" ] .'
    data = 'ex:a ex:code "99213" . ex:b ex:code "99213\\n" .'
    assert compiled_results(shapes, data) == [("b", "99213\n", "Pattern", "_")]


def test_a_residual_shape_using_a_compiled_shape_does_not_repeat_its_results() -> None:
    shapes = """ex:Compiled sh:targetNode ex:x ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .
        ex:Residual sh:targetNode ex:x ; sh:node ex:Compiled ;
            sh:sparql [ sh:select "SELECT $this WHERE { $this <https://example.org/never> ?o }" ] ."""
    compiled = CompiledShapes(graph(shapes))
    assert compiled.residual_shapes == [URIRef(EX + "Residual")] and not compiled.complete
    assert (URIRef(EX + "Compiled"), SH.targetNode, None) not in compiled.residual
    validation = validate(compiled, IndexedGraph([]), Graph)
    assert validation.engine == "compiled+pyshacl"
    assert sorted((short(r.component), short(r.source_shape)) for r in validation.results) == [
        ("MinCountConstraintComponent", "_"),
        ("NodeConstraintComponent", "Residual"),
    ]


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        ("sh:in ( 1 ) ; sh:in ( 2 )", "sh:in has 2 values"),
        ("sh:node ex:PropertyShape", "is a property shape"),
        ('sh:pattern "(unclosed"', "not a valid regular expression"),
        (
            'sh:property [ sh:path ex:p ; sh:minCount "one" ]',
            "sh:minCount must be a non-negative xsd:integer",
        ),
        ("sh:property [ sh:minCount 1 ]", "has no sh:path"),
        ("sh:property [ sh:path [ sh:unknownPath ex:p ] ]", "not a well-formed path"),
        ("sh:nodeKind ex:Nothing", "not one of the six node kinds"),
    ],
)
def test_an_ill_formed_shape_is_an_error_naming_it_and_the_others_still_compile(
    shape: str, reason: str
) -> None:
    shapes = graph(
        f"""ex:Bad sh:targetNode ex:x ; {shape} .
        ex:PropertyShape sh:path ex:p .
        ex:Good sh:targetNode ex:x ; sh:class ex:C ."""
    )
    compiled = CompiledShapes(shapes)
    assert [(e.shape, reason in e.reason) for e in compiled.errors] == [(URIRef(EX + "Bad"), True)]
    assert not compiled.complete and not compiled.residual_shapes and len(compiled.groups) == 1
    with pytest.raises(ShapesError, match="Bad"):
        validate(compiled, IndexedGraph([]), Graph)


def test_the_report_keeps_path_structure_message_languages_and_no_value_on_node_has_value() -> None:
    shapes = graph(
        """ex:Seq sh:targetNode ex:x ;
            sh:property [ sh:path ( ex:a [ sh:inversePath ex:b ] ) ; sh:minCount 1 ;
                sh:message "missing"@en, "fehlt"@de ] .
        ex:Has sh:targetNode ex:x ; sh:hasValue ex:y ."""
    )
    validation = validate_graph(graph("ex:x ex:a ex:z ."), shapes)
    report = validation.report()
    assert not validation.conforms and (None, SH.conforms, Literal(False)) in report
    path = next(report.objects(None, SH.resultPath))
    assert report.value(path, RDF.first) == URIRef(EX + "a")
    second = report.value(report.value(path, RDF.rest), RDF.first)
    assert report.value(second, SH.inversePath) == URIRef(EX + "b")
    assert set(report.objects(None, SH.resultMessage)) == {
        Literal("missing", lang="en"),
        Literal("fehlt", lang="de"),
    }
    has_value = next(report.subjects(SH.sourceConstraintComponent, SH.HasValueConstraintComponent))
    assert report.value(has_value, SH.value) is None


def test_warnings_make_the_report_not_conform() -> None:
    shapes = graph("ex:S sh:targetNode ex:x ; sh:severity sh:Warning ; sh:class ex:C .")
    validation = validate_graph(Graph(), shapes)
    assert [r.severity for r in validation.results] == [SH.Warning]
    assert (None, SH.conforms, Literal(False)) in validation.report()
