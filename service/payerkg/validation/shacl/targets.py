"""Targets: which shapes SHACL validates, and the focus nodes each selects in the data graph.

sh:targetNode, sh:targetClass (instances of the class or of any of its rdfs:subClassOf*
subclasses), implicit class targets (a shape that is also an rdfs:Class), sh:targetSubjectsOf
and sh:targetObjectsOf. SHACL-AF's sh:target is not SHACL Core: like pyshacl by default, the
engine does not read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import URIRef
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.graph import TYPE, IndexedGraph
from payerkg.validation.shacl.shapes import ShapesGraph, sh

TARGETS = ("targetNode", "targetClass", "targetSubjectsOf", "targetObjectsOf")
TARGET_PREDICATES = tuple(sh(t) for t in TARGETS)
SHAPE_CLASSES = (sh("NodeShape"), sh("PropertyShape"))


def targeted_shapes(shapes: ShapesGraph) -> list[Node]:
    """Every shape with a target, explicit or implicit (deactivated ones included), in a fixed order."""
    found = [
        shape
        for shape in shapes.subjects()
        if any(shapes.objects(shape, p) for p in TARGET_PREDICATES) or has_implicit_target(shapes, shape)
    ]
    return sorted(found, key=str)


def has_implicit_target(shapes: ShapesGraph, shape: Node) -> bool:
    """Whether ``shape`` is a class as well as a shape: it targets its own instances."""
    types = shapes.objects(shape, TYPE)
    return any(cls in types for cls in SHAPE_CLASSES) and shapes.is_class(shape)


def target_key(shapes: ShapesGraph, shape: Node) -> tuple[Any, ...]:
    """Shapes with equal keys select the same focus nodes."""
    declared = tuple(frozenset(shapes.objects(shape, p)) for p in TARGET_PREDICATES)
    return (*declared, shape if has_implicit_target(shapes, shape) else None)


@dataclass(frozen=True)
class Targets:
    """The focus nodes a shape's targets select in a data graph."""

    nodes: tuple[Identifier, ...]
    classes: tuple[Identifier, ...]
    subjects_of: tuple[URIRef, ...]
    objects_of: tuple[URIRef, ...]

    def __call__(self, g: IndexedGraph) -> Sequence[Identifier]:
        found: dict[Identifier, None] = dict.fromkeys(self.nodes)
        for cls in self.classes:
            found.update(dict.fromkeys(g.instances(cls)))
        for p in self.subjects_of:
            found.update(dict.fromkeys(g.subjects_of(p)))
        for p in self.objects_of:
            found.update(dict.fromkeys(g.objects_of(p)))
        return list(found)


def targets(shapes: ShapesGraph, shape: Node) -> Targets:
    """The targets of ``shape``."""
    # Target values are IRIs (or literals for sh:targetNode); rdflib types them only as Node.
    nodes: list[Any] = shapes.objects(shape, sh("targetNode"))
    classes: list[Any] = shapes.objects(shape, sh("targetClass"))
    if has_implicit_target(shapes, shape):
        classes = [*classes, shape]
    subjects_of: list[Any] = shapes.objects(shape, sh("targetSubjectsOf"))
    objects_of: list[Any] = shapes.objects(shape, sh("targetObjectsOf"))
    return Targets(tuple(nodes), tuple(classes), tuple(subjects_of), tuple(objects_of))
