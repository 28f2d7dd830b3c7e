"""String-based constraint components: sh:minLength, sh:maxLength, sh:pattern (with sh:flags),
sh:languageIn, sh:uniqueLang. Patterns follow XPath's regular expressions, where ``$`` is the end
of the string (Python's ``$`` also matches before a final newline)."""

from __future__ import annotations

import re
from collections import Counter

from rdflib import BNode, Literal
from rdflib.namespace import XSD
from rdflib.term import Identifier, Node

from payerkg.validation.shacl.components.base import (
    NO_VALUE,
    Build,
    Component,
    Constraint,
    Context,
    component,
)
from payerkg.validation.shacl.graph import IndexedGraph, Values
from payerkg.validation.shacl.shapes import ShapeError, integer

FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _length(name: str, longest: bool) -> Build:
    def build(context: Context, value: Node) -> list[Constraint]:
        bound = integer(context.shape, name, value)

        def within(g: IndexedGraph, node: Identifier) -> bool:
            if isinstance(node, BNode):
                return False
            return len(str(node)) <= bound if longest else len(str(node)) >= bound

        return [Constraint(component(name[0].upper() + name[1:]), each=within)]

    return build


def xpath_regex(pattern: str, flags: str = "") -> re.Pattern[str]:
    """A compiled Python regex that matches as the XPath regex ``pattern`` with ``flags`` does.

    >>> bool(xpath_regex("^[0-9]{5}$").search("99213\\n")), bool(xpath_regex("^[0-9]{5}$").search("99213"))
    (False, True)
    """
    unknown = set(flags) - set(FLAGS) - {"q"}
    if unknown:
        raise ValueError(f"unknown flags {''.join(sorted(unknown))}")
    bits = 0
    for flag in flags:
        bits |= FLAGS.get(flag, 0)
    if "q" in flags:
        return re.compile(re.escape(pattern), bits)
    return re.compile(_end_of_string(pattern) if "m" not in flags else pattern, bits)


def _end_of_string(pattern: str) -> str:
    """``pattern`` with each unescaped ``$`` outside a character class made ``\\Z``."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return "".join(out)


def _pattern(context: Context, value: Node) -> list[Constraint]:
    flags = context.shapes.one(context.shape, "flags")
    if not isinstance(value, Literal) or (flags is not None and not isinstance(flags, Literal)):
        raise ShapeError(context.shape, "sh:pattern and sh:flags must be literals")
    try:
        regex = xpath_regex(str(value), str(flags) if flags is not None else "")
    except (re.error, ValueError) as error:
        reason = f"sh:pattern {value.n3()} is not a valid regular expression: {error}"
        raise ShapeError(context.shape, reason) from error

    def matches(g: IndexedGraph, node: Identifier) -> bool:
        return not isinstance(node, BNode) and regex.search(str(node)) is not None

    return [Constraint(component("Pattern"), each=matches)]


def language_matches(tag: str, wanted: str) -> bool:
    """SPARQL's langMatches: basic filtering of a language tag by a range.

    >>> language_matches("en-US", "en"), language_matches("fr", "*"), language_matches("", "*")
    (True, True, False)
    """
    tag, wanted = tag.lower(), wanted.lower()
    if wanted == "*":
        return tag != ""
    return tag == wanted or tag.startswith(wanted + "-")


def _language_in(context: Context, value: Node) -> list[Constraint]:
    ranges = context.shapes.items(context.shape, value, "languageIn")
    if not all(isinstance(r, Literal) for r in ranges):
        raise ShapeError(context.shape, "sh:languageIn must list literals")
    wanted = [str(r) for r in ranges]

    def tagged(g: IndexedGraph, node: Identifier) -> bool:
        language = node.language if isinstance(node, Literal) else None
        return language is not None and any(language_matches(language, w) for w in wanted)

    return [Constraint(component("LanguageIn"), each=tagged)]


def _unique_lang(context: Context, value: Node) -> list[Constraint]:
    if not isinstance(value, Literal) or value.datatype != XSD.boolean:
        raise ShapeError(context.shape, f"sh:uniqueLang must be a boolean, not {value.n3()}")
    if value != Literal(True):  # only true activates it ("1" does not)
        return []

    def repeated(values: Values) -> list[str]:
        counts = Counter(v.language for v in values if isinstance(v, Literal) and v.language)
        return [language for language, count in counts.items() if count > 1]

    return [
        Constraint(
            component("UniqueLang"),
            holds=lambda g, focus, values: not repeated(values),
            failures=lambda g, focus, values: [NO_VALUE for _ in repeated(values)],
        )
    ]


COMPONENTS = (
    Component("minLength", _length("minLength", longest=False), single=True),
    Component("maxLength", _length("maxLength", longest=True), single=True),
    Component("pattern", _pattern, auxiliary=("flags",)),
    Component("languageIn", _language_in, single=True),
    Component("uniqueLang", _unique_lang, single=True, property_only=True),
)
