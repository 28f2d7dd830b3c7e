"""Validation results and the W3C validation report graph that states them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.shapes import ShapesGraph

SHACL = SH._NS
PATH_PREDICATES = frozenset(
    SHACL[p] for p in ("inversePath", "alternativePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath")
) | {RDF.first, RDF.rest}


@dataclass(frozen=True)
class Result:
    """One validation result, as the W3C report states it. ``path`` is the shape's own path node
    (a blank node for a sequence or inverse path, whose structure is in the shapes graph)."""

    focus: Identifier
    path: Node | None
    value: Identifier | None
    component: URIRef
    source_shape: Node
    severity: URIRef
    messages: tuple[Literal, ...] = ()

    @property
    def message(self) -> str | None:
        """The message to show: the untagged or English one, else the first."""
        for text in self.messages:
            if text.language in (None, "en") or text.language.startswith("en-"):
                return str(text)
        return str(self.messages[0]) if self.messages else None


def report_graph(results: Iterable[Result], shapes: ShapesGraph | None = None) -> Graph:
    """A W3C SHACL validation report: ``sh:conforms`` is true exactly when there is no result.

    The structure of a blank-node path (sequence, inverse, alternative, ...) is copied from
    ``shapes``, the graph the results' paths come from.

    >>> report = report_graph([])
    >>> [value.toPython() for value in report.objects(None, SHACL["conforms"])]
    [True]
    """
    report = Graph()
    report.bind("sh", SHACL)
    root = BNode()
    report.add((root, RDF.type, SHACL["ValidationReport"]))
    results = list(results)
    report.add((root, SHACL["conforms"], Literal(not results)))
    copied: set[Node] = set()
    for result in results:
        node = BNode()
        report.add((root, SHACL["result"], node))
        report.add((node, RDF.type, SHACL["ValidationResult"]))
        report.add((node, SHACL["focusNode"], result.focus))
        if result.path is not None:
            report.add((node, SHACL["resultPath"], result.path))
            if isinstance(result.path, BNode) and shapes is not None:
                _copy_path(shapes, result.path, report, copied)
        if result.value is not None:
            report.add((node, SHACL["value"], result.value))
        report.add((node, SHACL["sourceConstraintComponent"], result.component))
        report.add((node, SHACL["sourceShape"], result.source_shape))
        report.add((node, SHACL["resultSeverity"], result.severity))
        for message in result.messages:
            report.add((node, SHACL["resultMessage"], message))
    return report


def _copy_path(shapes: ShapesGraph, node: Node, report: Graph, copied: set[Node]) -> None:
    """Copy a path's structure as the engine reads it: a list node is a sequence only."""
    if node in copied or not isinstance(node, BNode):
        return
    copied.add(node)
    is_list = bool(shapes.objects(node, RDF.first))
    for predicate, value in shapes.predicate_objects(node):
        if predicate in ((RDF.first, RDF.rest) if is_list else PATH_PREDICATES):
            report.add((node, predicate, value))
            _copy_path(shapes, value, report, copied)


def report_text(results: Iterable[Result]) -> str:
    """A validation report for people, as pyshacl's command prints one.

    >>> print(report_text([]))
    Validation Report
    Conforms: True
    """
    results = list(results)
    lines = ["Validation Report", f"Conforms: {not results}"]
    if results:
        lines.append(f"Results ({len(results)}):")
    for result in sorted(results, key=lambda r: (str(r.focus), str(r.source_shape), str(r.component))):
        severity = str(result.severity).removeprefix(str(SHACL))
        component = str(result.component).removeprefix(str(SHACL))
        lines.append(f"Constraint {severity} in {component}:")
        lines.append(f"\tSource Shape: {result.source_shape.n3()}")
        lines.append(f"\tFocus Node: {result.focus.n3()}")
        if result.path is not None:
            lines.append(f"\tResult Path: {result.path.n3()}")
        if result.value is not None:
            lines.append(f"\tValue Node: {result.value.n3()}")
        if result.message is not None:
            lines.append(f"\tMessage: {result.message}")
    return "\n".join(lines)
