"""The W3C SHACL Core test suite, read from its manifests (copied into ``w3c-core/``), and the
suite's own comparison of validation reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import RDF, SH
from rdflib.term import Node

HERE = Path(__file__).resolve().parent
SUITE = HERE / "w3c-core"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

# What the suite compares: the report's structure, never its messages.
REPORT_PREDICATES = {
    SH.conforms,
    SH.result,
    SH.focusNode,
    SH.resultPath,
    SH.resultSeverity,
    SH.sourceConstraintComponent,
    SH.sourceShape,
    SH.value,
}
PATH_PREDICATES = {
    RDF.first,
    RDF.rest,
    SH.inversePath,
    SH.alternativePath,
    SH.zeroOrMorePath,
    SH.oneOrMorePath,
    SH.zeroOrOnePath,
}


@dataclass(frozen=True)
class Case:
    """One approved ``sht:Validate`` entry of the suite."""

    name: str  # the entry's path relative to the suite, e.g. core/node/and-001
    data: Path
    shapes: Path
    expected: Graph  # the expected report, structural triples only


def cases(manifest: Path = SUITE / "core" / "manifest.ttl") -> Iterator[Case]:
    """Every approved ``sht:Validate`` entry reached from ``manifest`` through ``mf:include``."""
    graph = Graph().parse(manifest, format="turtle")
    for included in sorted(graph.objects(None, MF.include), key=str):
        yield from cases(_local(included))
    for listing in graph.objects(None, MF.entries):
        for entry in Collection(graph, listing):
            if (entry, RDF.type, SHT.Validate) not in graph or (entry, MF.status, SHT.approved) not in graph:
                continue
            action = graph.value(entry, MF.action)
            name = str(_local(entry).relative_to(SUITE).with_suffix(""))
            yield Case(
                name=name,
                data=_local(graph.value(action, SHT.dataGraph)),
                shapes=_local(graph.value(action, SHT.shapesGraph)),
                expected=structure(graph, graph.value(entry, MF.result)),
            )


def _local(iri: Node | None) -> Path:
    assert isinstance(iri, URIRef) and iri.startswith("file://"), iri
    return Path(iri.removeprefix("file://")).resolve()


def structure(graph: Graph, report: Node | None) -> Graph:
    """The triples of ``report`` the suite compares: conforms, results, and each result's focus
    node, path (with its whole structure), severity, component, source shape and value."""
    kept = Graph()
    assert report is not None
    kept.add((report, RDF.type, SH.ValidationReport))
    for predicate, value in graph.predicate_objects(report):
        if predicate in REPORT_PREDICATES:
            kept.add((report, predicate, value))
    for result in graph.objects(report, SH.result):
        kept.add((result, RDF.type, SH.ValidationResult))
        for predicate, value in graph.predicate_objects(result):
            if predicate == SH.resultPath:
                kept.add((result, predicate, _copy_path(graph, value, kept)))
            elif predicate in REPORT_PREDICATES:
                kept.add((result, predicate, value))
    return kept


def _copy_path(graph: Graph, node: Node, into: Graph) -> Node:
    """A copy of a path's structure with blank nodes of its own: one report may share one path
    node between its results, another give each result its own; both say the same."""
    if not isinstance(node, BNode):
        return node
    copy = BNode()
    for predicate, value in graph.predicate_objects(node):
        if predicate in PATH_PREDICATES:
            into.add((copy, predicate, _copy_path(graph, value, into)))
    return copy


def report_of(graph: Graph) -> Graph:
    """The structural triples of the one ``sh:ValidationReport`` in ``graph``."""
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1, f"{len(reports)} validation reports"
    return structure(graph, reports[0])


def same_report(produced: Graph, expected: Graph) -> bool:
    """The suite's rule: the structural triples of both reports are isomorphic."""
    return isomorphic(produced, expected)


def difference(produced: Graph, expected: Graph) -> str:
    """A readable account of two reports that differ: the triples only one of them has."""
    _, only_produced, only_expected = graph_diff(to_isomorphic(produced), to_isomorphic(expected))
    return (
        f"produced only:\n{only_produced.serialize(format='nt')}\n"
        f"expected only:\n{only_expected.serialize(format='nt')}"
    )
