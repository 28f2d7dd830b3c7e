"""Other constraint components: sh:closed (with sh:ignoredProperties), sh:hasValue, sh:in."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import (
    NO_VALUE,
    Component,
    Constraint,
    Context,
    Failure,
    component,
)
from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import ShapeError


def _closed(context: Context, value: Node) -> list[Constraint]:
    shapes, shape = context.shapes, context.shape
    if not isinstance(value, Literal) or value.datatype != XSD.boolean:
        raise ShapeError(shape, f"sh:closed must be a boolean, not {value.n3()}")
    if value != Literal(True):
        return []
    allowed: set[Node] = set()
    ignored = shapes.one(shape, "ignoredProperties")
    if ignored is not None:
        allowed.update(shapes.items(shape, ignored, "ignoredProperties"))
    for prop in shapes.values(shape, "property"):
        allowed.update(p for p in shapes.values(prop, "path") if isinstance(p, URIRef))

    def failures(g: IndexedGraph, focus: Identifier, values: Values) -> list[Failure]:
        return [(o, p) for v in values for p in g.predicates(v) if p not in allowed for o in g.objects(v, p)]

    return [
        Constraint(
            component("Closed"),
            holds=lambda g, focus, values: all(p in allowed for v in values for p in g.predicates(v)),
            failures=failures,
        )
    ]


def _has_value(context: Context, value: Node) -> list[Constraint]:
    return [
        Constraint(
            component("HasValue"),
            required=value,
            holds=lambda g, focus, values: value in values,
            failures=lambda g, focus, values: [] if value in values else [NO_VALUE],
        )
    ]


def _in(context: Context, value: Node) -> list[Constraint]:
    allowed = frozenset(context.shapes.items(context.shape, value, "in"))
    return [Constraint(component("In"), each=lambda g, node: node in allowed)]


COMPONENTS = (
    Component("closed", _closed, auxiliary=("ignoredProperties",), single=True),
    Component("hasValue", _has_value),
    Component("in", _in, single=True),
)
