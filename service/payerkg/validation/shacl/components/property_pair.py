"""Property pair constraint components: sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals.
Each compares the value nodes with the focus node's values of another property."""

from __future__ import annotations

from collections.abc import Callable

from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import Component, Constraint, Context, Failure, component
from payerkg.validation.shacl.components.value_range import compare
from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import iri

Compare = Callable[[IndexedGraph, Identifier, Values], list[Failure]]


def _pair(
    name: str, differing: Callable[[Values, Values], list[Identifier]]
) -> Callable[..., list[Constraint]]:
    def build(context: Context, value: Node) -> list[Constraint]:
        other = iri(context.shape, name, value)

        def failures(g: IndexedGraph, focus: Identifier, values: Values) -> list[Failure]:
            return [(v, None) for v in differing(values, g.objects(focus, other))]

        return [
            Constraint(
                component(name[0].upper() + name[1:]),
                holds=lambda g, focus, values: not differing(values, g.objects(focus, other)),
                failures=failures,
            )
        ]

    return build


def _unequal(values: Values, others: Values) -> list[Identifier]:
    mine, theirs = set(values), set(others)
    return list(dict.fromkeys([v for v in values if v not in theirs] + [o for o in others if o not in mine]))


def _shared(values: Values, others: Values) -> list[Identifier]:
    theirs = set(others)
    return [v for v in values if v in theirs]


def _not_below(strict: bool) -> Callable[[Values, Values], list[Identifier]]:
    def failing(values: Values, others: Values) -> list[Identifier]:
        found = []
        for value in values:
            for other in others:
                order = compare(value, other)
                if order is None or order > 0 or (strict and order == 0):
                    found.append(value)
        return found

    return failing


COMPONENTS = (
    Component("equals", _pair("equals", _unequal)),
    Component("disjoint", _pair("disjoint", _shared)),
    Component("lessThan", _pair("lessThan", _not_below(strict=True)), property_only=True),
    Component("lessThanOrEquals", _pair("lessThanOrEquals", _not_below(strict=False)), property_only=True),
)
