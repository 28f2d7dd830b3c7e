"""Targets: which shapes SHACL validates, and the focus nodes each selects in the data graph.

sh:targetNode, sh:targetClass (instances of the class or of any of its rdfs:subClassOf*
subclasses), implicit class targets (a shape that is also an rdfs:Class), sh:targetSubjectsOf
and sh:targetObjectsOf. SHACL-AF's sh:target is not SHACL Core: like pyshacl by default, the
engine does not read it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rdflib.namespace import RDF
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.graph import TYPE, IndexedGraph
from payerkg.validation.shacl.shapes import ShapesGraph, sh

TARGETS = ("targetNode", "targetClass", "targetSubjectsOf", "targetObjectsOf")
SHAPE_CLASSES = (sh("NodeShape"), sh("PropertyShape"))
Targets = Callable[[IndexedGraph], Sequence[Identifier]]


def targeted_shapes(shapes: ShapesGraph) -> list[Node]:
    """Every shape with a target, explicit or implicit (deactivated ones included), in a fixed order."""
    graph = shapes.graph
    found: set[Node] = set()
    for target in TARGETS:
        found.update(graph.subjects(sh(target), None))
    for cls in SHAPE_CLASSES:
        found.update(shape for shape in graph.subjects(RDF.type, cls) if has_implicit_target(shapes, shape))
    return sorted(found, key=str)


def has_implicit_target(shapes: ShapesGraph, shape: Node) -> bool:
    """Whether ``shape`` is a class as well as a shape: it targets its own instances."""
    types = shapes.objects(shape, TYPE)
    return any(cls in types for cls in SHAPE_CLASSES) and shapes.is_class(shape)


def target_key(shapes: ShapesGraph, shape: Node) -> tuple[Any, ...]:
    """Shapes with equal keys select the same focus nodes."""
    declared = tuple(frozenset(shapes.objects(shape, sh(t))) for t in TARGETS)
    return (*declared, shape if has_implicit_target(shapes, shape) else None)


def targets(shapes: ShapesGraph, shape: Node) -> Targets:
    """The focus nodes of ``shape`` in a data graph."""
    # Target values are IRIs (or literals for sh:targetNode); rdflib types them only as Node.
    nodes: list[Any] = list(shapes.objects(shape, sh("targetNode")))
    classes: list[Any] = list(shapes.objects(shape, sh("targetClass")))
    if has_implicit_target(shapes, shape):
        classes.append(shape)
    subjects_of: list[Any] = list(shapes.objects(shape, sh("targetSubjectsOf")))
    objects_of: list[Any] = list(shapes.objects(shape, sh("targetObjectsOf")))

    def select(g: IndexedGraph) -> Sequence[Identifier]:
        found: dict[Identifier, None] = {}
        for node in nodes:
            found[node] = None
        for cls in classes:
            found.update(dict.fromkeys(g.instances(cls)))
        for p in subjects_of:
            found.update(dict.fromkeys(g.subjects_of(p)))
        for p in objects_of:
            found.update(dict.fromkeys(g.objects_of(p)))
        return list(found)

    return select
