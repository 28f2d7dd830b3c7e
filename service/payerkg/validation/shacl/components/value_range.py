"""Value range constraint components: sh:minExclusive, sh:minInclusive, sh:maxExclusive,
sh:maxInclusive. Values compare as SPARQL's ``<`` does; a value that does not compare with the
bound (a boolean with a number, a language-tagged string with a plain one) fails."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import Component, Constraint, Context, component
from payerkg.validation.shacl.shapes import ShapeError

NUMERIC = {
    XSD[name]
    for name in (
        *("integer", "decimal", "float", "double", "long", "int", "short", "byte"),
        *("nonPositiveInteger", "negativeInteger", "nonNegativeInteger", "positiveInteger"),
        *("unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"),
    )
}
ORDERED = {XSD.boolean: "boolean", XSD.dateTime: "dateTime", XSD.date: "date", XSD.time: "time"}


def _comparable(value: Identifier | Node) -> tuple[str, Any] | None:
    """The kind of value SPARQL orders ``value`` among, and its Python value; None if it has none."""
    if not isinstance(value, Literal) or value.language is not None or value.ill_typed:
        return None
    if value.datatype is None or value.datatype == XSD.string:
        return "string", str(value)
    python = value.value
    if (
        value.datatype in NUMERIC
        and isinstance(python, int | float | Decimal)
        and not isinstance(python, bool)
    ):
        return "numeric", python
    kind = ORDERED.get(value.datatype)
    if kind == "boolean" and isinstance(python, bool):
        return kind, python
    if kind is not None and isinstance(python, datetime.date | datetime.time):
        return kind, python
    return None


def compare(left: Identifier | Node, right: Identifier | Node) -> int | None:
    """-1, 0 or 1 as ``left`` is below, equal to or above ``right``; None if they do not compare.

    >>> compare(Literal(3), Literal(4)), compare(Literal(True), Literal(1))
    (-1, None)
    >>> compare(Literal("b"), Literal("a")), compare(Literal("a", lang="en"), Literal("a"))
    (1, None)
    """
    return _order(_comparable(left), _comparable(right))


def _order(a: tuple[str, Any] | None, b: tuple[str, Any] | None) -> int | None:
    if a is None or b is None or a[0] != b[0]:
        return None
    try:
        return -1 if a[1] < b[1] else (1 if a[1] > b[1] else 0)
    except TypeError:  # a date with a time zone and one without
        return None


def _bound(name: str, accepts: Callable[[int], bool]) -> Callable[[Context, Node], list[Constraint]]:
    def build(context: Context, bound: Node) -> list[Constraint]:
        if not isinstance(bound, Literal):
            raise ShapeError(context.shape, f"sh:{name} must be a literal, not {bound.n3()}")

        limit = _comparable(bound)  # read once: every value is compared with it

        def within(g: object, value: Identifier) -> bool:
            order = _order(_comparable(value), limit)
            return order is not None and accepts(order)

        return [Constraint(component(name[0].upper() + name[1:]), each=within)]

    return build


COMPONENTS = (
    Component("minExclusive", _bound("minExclusive", lambda order: order > 0), single=True),
    Component("minInclusive", _bound("minInclusive", lambda order: order >= 0), single=True),
    Component("maxExclusive", _bound("maxExclusive", lambda order: order < 0), single=True),
    Component("maxInclusive", _bound("maxInclusive", lambda order: order <= 0), single=True),
)
