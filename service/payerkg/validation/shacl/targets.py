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


@dataclass(frozen=True)
class Targets:
    """The focus nodes a shape's targets select in a data graph; equal for shapes that select the
    same ones (each part a set, in a fixed order), so shapes sharing targets are grouped by them."""

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
    parts: list[list[Any]] = [[*shapes.objects(shape, p)] for p in TARGET_PREDICATES]
    if has_implicit_target(shapes, shape):
        parts[TARGETS.index("targetClass")].append(shape)
    return Targets(*(tuple(sorted(set(part), key=str)) for part in parts))
