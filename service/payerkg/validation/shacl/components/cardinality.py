"""Cardinality constraint components: sh:minCount, sh:maxCount (property shapes)."""

from __future__ import annotations

from rdflib.term import Node

from payerkg.validation.shacl.components.base import NO_VALUE, Component, Constraint, Context, component
from payerkg.validation.shacl.shapes import integer


def _min_count(context: Context, value: Node) -> list[Constraint]:
    least = integer(context.shape, "minCount", value)
    return [
        Constraint(
            component("MinCount"),
            counts=(least, None),
            holds=lambda g, focus, values: len(values) >= least,
            failures=lambda g, focus, values: [] if len(values) >= least else [NO_VALUE],
        )
    ]


def _max_count(context: Context, value: Node) -> list[Constraint]:
    most = integer(context.shape, "maxCount", value)
    return [
        Constraint(
            component("MaxCount"),
            counts=(0, most),
            holds=lambda g, focus, values: len(values) <= most,
            failures=lambda g, focus, values: [] if len(values) <= most else [NO_VALUE],
        )
    ]


COMPONENTS = (
    Component("minCount", _min_count, single=True, property_only=True),
    Component("maxCount", _max_count, single=True, property_only=True),
)
