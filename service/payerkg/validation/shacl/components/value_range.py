"""Value range constraint components: sh:minExclusive, sh:minInclusive, sh:maxExclusive,
sh:maxInclusive. Values compare as SPARQL's ``<`` does; a value that does not compare with the
bound (a boolean with a number, a language-tagged string with a plain one) fails."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import Component, Constraint, Context, component
from payerkg.validation.shacl.shapes import ShapeError

NUMERIC = (
    *("integer", "decimal", "float", "double", "long", "int", "short", "byte"),
    *("nonPositiveInteger", "negativeInteger", "nonNegativeInteger", "positiveInteger"),
    *("unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"),
)
# The kind of value SPARQL orders each datatype among; a datatype not here is not ordered.
KINDS: dict[URIRef, str] = {
    **{XSD[name]: "numeric" for name in NUMERIC},
    XSD.string: "string",
    XSD.boolean: "boolean",
    XSD.dateTime: "dateTime",
    XSD.date: "date",
    XSD.time: "time",
}
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "numeric": (int, float, Decimal),
    "boolean": (bool,),
    "dateTime": (datetime.datetime,),
    "date": (datetime.date,),
    "time": (datetime.time,),
}


def _comparable(value: Identifier | Node) -> tuple[str, Any] | None:
    """The kind of value SPARQL orders ``value`` among, and its Python value; None if it has none."""
    if not isinstance(value, Literal) or value.language is not None:
        return None
    datatype = value.datatype
    if datatype is None:
        return "string", str(value)
    kind = KINDS.get(datatype)
    if kind is None or value.ill_typed:
        return None
    if kind == "string":
        return kind, str(value)
    python = value.value
    if not isinstance(python, PYTHON_TYPES[kind]) or (kind == "numeric" and isinstance(python, bool)):
        return None
    return kind, python


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
