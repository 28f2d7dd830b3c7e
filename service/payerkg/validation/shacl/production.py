"""The production path: the compiled engine, and pyshacl on the shapes it leaves (whole).

Shared by encounter validation and ``payerkg shacl``. A shapes graph with an ill-formed shape is
refused (``ShapesError``, naming each shape and the reason), as pyshacl refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from payerkg.validation.shacl.engine import CompiledShapes
from payerkg.validation.shacl.graph import IndexedGraph, Triple
from payerkg.validation.shacl.report import Result, report_graph
from payerkg.validation.shacl.shapes import ShapeError, ShapesGraph

Engine = Literal["compiled", "compiled+pyshacl"]


class ShapesError(ValueError):
    """A shapes graph that cannot be used: every shape that is not well-formed, and why."""

    def __init__(self, errors: list[ShapeError] | str) -> None:
        text = errors if isinstance(errors, str) else "; ".join(sorted(str(e) for e in errors))
        super().__init__(text)
        self.errors = [] if isinstance(errors, str) else errors


@dataclass(frozen=True)
class Validation:
    """The results of one validation, and which engines reached them."""

    results: list[Result]
    engine: Engine
    shapes: ShapesGraph

    @property
    def conforms(self) -> bool:
        """The W3C meaning: no result of any severity."""
        return not self.results

    def report(self) -> Graph:
        """The W3C SHACL validation report."""
        return report_graph(self.results, self.shapes)


def validate(
    compiled: CompiledShapes,
    data: IndexedGraph,
    graph: Callable[[], Graph],
    focus_nodes: Collection[Node] | None = None,
) -> Validation:
    """Validate a data graph: ``data`` indexed, and ``graph`` giving the same triples as an rdflib
    graph, called only when pyshacl has shapes to run (building one costs more than validating);
    the results of every focus node, or of ``focus_nodes`` only.

    >>> shapes = Graph().parse(data='''@prefix sh: <http://www.w3.org/ns/shacl#> .
    ... <https://example.org/S> sh:targetNode <https://example.org/n> ; sh:minLength "two" .''',
    ...     format="turtle")
    >>> try:
    ...     validate(CompiledShapes(shapes), IndexedGraph([]), Graph)
    ... except ShapesError as error:
    ...     print(error)
    shape <https://example.org/S>: sh:minLength must be a non-negative xsd:integer, not "two"
    """
    if compiled.errors:
        raise ShapesError(compiled.errors)
    results = compiled.validate(data, focus_nodes)
    if compiled.complete:
        return Validation(results, "compiled", compiled.reader)
    residual = pyshacl_results(compiled.residual, graph())
    results += [result for result in residual if focus_nodes is None or result.focus in focus_nodes]
    return Validation(results, "compiled+pyshacl", compiled.reader)


def validate_graph(data: Graph, shapes: Graph) -> Validation:
    """Validate ``data`` against ``shapes``, compiling them for this one call."""
    triples: list[Triple] = list(data)  # type: ignore[arg-type]
    return validate(CompiledShapes(shapes), IndexedGraph(triples), lambda: data)


def pyshacl_results(shapes: Graph, data: Graph, use_shapes: Sequence[URIRef] | None = None) -> list[Result]:
    """pyshacl's results, in the compiled engine's terms (a blank-node path is the source shape's
    own sh:path node, whose structure the shapes graph holds), from every shape or ``use_shapes``.
    pyshacl is imported here, when shapes are left to it: a graph the compiled engine covers never
    loads it."""
    import pyshacl
    from pyshacl.errors import ReportableRuntimeError

    try:
        _, report, _ = pyshacl.validate(
            data,
            shacl_graph=shapes,
            allow_warnings=True,
            use_shapes=list(use_shapes) if use_shapes is not None else None,
        )
    except ReportableRuntimeError as error:
        raise ShapesError(f"pyshacl refused the shapes: {error.message}") from error
    assert isinstance(report, Graph)
    results = []
    for node in report.objects(None, SH.result):
        shape = report.value(node, SH.sourceShape)
        path = report.value(node, SH.resultPath)
        if isinstance(path, BNode):
            path = shapes.value(shape, SH.path) or path
        results.append(
            Result(
                focus=report.value(node, SH.focusNode),  # type: ignore[arg-type]
                path=path,
                value=report.value(node, SH.value),  # type: ignore[arg-type]
                component=report.value(node, SH.sourceConstraintComponent),  # type: ignore[arg-type]
                source_shape=shape,  # type: ignore[arg-type]
                severity=report.value(node, SH.resultSeverity),  # type: ignore[arg-type]
                messages=tuple(report.objects(node, SH.resultMessage)),  # type: ignore[arg-type]
            )
        )
    return results
