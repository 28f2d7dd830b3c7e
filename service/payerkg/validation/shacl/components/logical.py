"""Logical constraint components: sh:not, sh:and, sh:or, sh:xone. Members may be node or
property shapes; each is evaluated with the value node as its focus."""

from __future__ import annotations

from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import Check, Component, Constraint, Context, component
from payerkg.validation.shacl.graph import IndexedGraph


def _not(context: Context, value: Node) -> list[Constraint]:
    inner = context.conforms(value)
    return [Constraint(component("Not"), each=lambda g, node: not inner(g, node))]


def _members(context: Context, value: Node, name: str) -> list[Check]:
    return [context.conforms(m) for m in context.shapes.items(context.shape, value, name)]


def _and(context: Context, value: Node) -> list[Constraint]:
    return [Constraint(component("And"), each=all_of(_members(context, value, "and")))]


def _or(context: Context, value: Node) -> list[Constraint]:
    return [Constraint(component("Or"), each=any_of(_members(context, value, "or")))]


def _xone(context: Context, value: Node) -> list[Constraint]:
    members = _members(context, value, "xone")

    def exactly_one(g: IndexedGraph, node: Identifier) -> bool:
        return sum(1 for m in members if m(g, node)) == 1

    return [Constraint(component("Xone"), each=exactly_one)]


# Loops rather than any()/all() over a generator, which costs more than these checks (every
# rule shape is an sh:or, evaluated for every claim line).
def any_of(checks: list[Check]) -> Check:
    def any_holds(g: IndexedGraph, value: Identifier) -> bool:
        for check in checks:  # noqa: SIM110
            if check(g, value):
                return True
        return False

    return any_holds


def all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def all_hold(g: IndexedGraph, value: Identifier) -> bool:
        for check in checks:  # noqa: SIM110
            if not check(g, value):
                return False
        return True

    return all_hold


COMPONENTS = (
    Component("not", _not),
    Component("and", _and),
    Component("or", _or),
    Component("xone", _xone),
)
