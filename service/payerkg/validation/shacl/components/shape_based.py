"""Shape-based constraint components: sh:node and sh:qualifiedValueShape (with
sh:qualifiedMinCount, sh:qualifiedMaxCount, sh:qualifiedValueShapesDisjoint). sh:property is
compiled by the compiler itself, as its results are the nested shape's own."""

from __future__ import annotations

from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import (
    NO_VALUE,
    Check,
    Component,
    Constraint,
    Context,
    Failure,
    component,
)
from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import ShapeError, integer, sh


def _node(context: Context, value: Node) -> list[Constraint]:
    if context.shapes.is_property_shape(value):
        raise ShapeError(
            context.shape, f"sh:node {value.n3()} is a property shape; sh:node needs a node shape"
        )
    return [Constraint(component("Node"), each=context.conforms(value))]


def _qualified(context: Context, value: Node) -> list[Constraint]:
    shapes, shape = context.shapes, context.shape
    least, most = shapes.one(shape, "qualifiedMinCount"), shapes.one(shape, "qualifiedMaxCount")
    low = integer(shape, "qualifiedMinCount", least) if least is not None else None
    high = integer(shape, "qualifiedMaxCount", most) if most is not None else None
    inner = context.conforms(value)
    siblings: list[Check] = []
    if shapes.is_true(shape, "qualifiedValueShapesDisjoint"):
        parents = [p for p in shapes.referrers(shape) if shape in shapes.objects(p, sh("property"))]
        for parent in parents:
            for sibling in shapes.objects(parent, sh("property")):
                siblings.extend(
                    context.conforms(q) for q in shapes.values(sibling, "qualifiedValueShape") if q != value
                )

    def count(g: IndexedGraph, values: Values) -> int:
        return sum(1 for v in values if inner(g, v) and not any(s(g, v) for s in siblings))

    constraints = []
    if low is not None:
        constraints.append(_counted("QualifiedMinCount", count, lambda n: n >= low))
    if high is not None:
        constraints.append(_counted("QualifiedMaxCount", count, lambda n: n <= high))
    return constraints


def _counted(name: str, count: object, accepts: object) -> Constraint:
    def holds(g: IndexedGraph, focus: Identifier, values: Values) -> bool:
        return accepts(count(g, values))  # type: ignore[operator, no-any-return]

    def failures(g: IndexedGraph, focus: Identifier, values: Values) -> list[Failure]:
        return [] if holds(g, focus, values) else [NO_VALUE]

    return Constraint(component(name), holds=holds, failures=failures)


COMPONENTS = (
    Component("node", _node),
    Component(
        "qualifiedValueShape",
        _qualified,
        auxiliary=("qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint"),
        single=True,
        property_only=True,
    ),
)
