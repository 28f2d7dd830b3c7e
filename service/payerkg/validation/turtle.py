"""Turtle encounters read by Oxigraph's parser (pyoxigraph's ``parse`` only, never a store) into
the rdflib terms rdflib's parser makes of them, about twenty times faster; rdflib's parser reads
every document Oxigraph's would read differently (``read_turtle`` says which).
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Identifier

from payerkg.errors import ParseError, TooLarge
from payerkg.graph.dataset import holds_nul, syntax_error_position

Triple = tuple[Identifier, URIRef, Identifier]

# Oxigraph resolves relative IRIs against this stand-in base instead of the real one, so that the
# two rdflib resolves against a base like ``urn:payerkg:encounter:`` (``<>`` and ``<#x>``) can be
# told from those it refuses (``<x>``, ``<?q>``, ``<../x>``), which are left to rdflib.
_STAND_IN_ROOT = "http://relative.invalid/"
_STAND_IN = f"{_STAND_IN_ROOT}{secrets.token_hex(8)}/"
# RDF 1.2's version directive: Oxigraph reads it, rdflib refuses it.
_VERSION = re.compile(r"version", re.IGNORECASE)
NUL_ESCAPES = ("\\u0000", "\\U00000000")  # the only Turtle escapes that make a NUL


class _ReadByRdflib(Exception):
    """A document Oxigraph's parser would read differently from rdflib's."""


def read_turtle(text: str, base: str, max_triples: int) -> list[Triple]:
    """The statements of a Turtle document as rdflib's parser reads them against ``base``, or a
    ``ParseError`` (syntax, NUL) or ``TooLarge`` (more than ``max_triples``) as it refuses them.

    Oxigraph reads the document; rdflib's parser reads it instead when Oxigraph's would differ:
    a syntax error (so that refusals and their line and column stay rdflib's, and what rdflib
    accepts is accepted), a language tag (rdflib keeps its case, Oxigraph lowercases it), a
    relative IRI other than ``<>`` or ``<#x>``, a triple term or a version directive (RDF 1.2).

    >>> read_turtle('<urn:a> <urn:b> "x"^^<http://www.w3.org/2001/XMLSchema#string>, 007 .', "urn:e:", 9)
    [(rdflib.term.URIRef('urn:a'), rdflib.term.URIRef('urn:b'), rdflib.term.Literal('x')), \
(rdflib.term.URIRef('urn:a'), rdflib.term.URIRef('urn:b'), \
rdflib.term.Literal('7', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#integer')))]
    """
    try:
        return _oxigraph_triples(text, base, max_triples)
    except _ReadByRdflib:
        return rdflib_triples(text, base, max_triples)


def rdflib_triples(text: str, base: str, max_triples: int) -> list[Triple]:
    """The statements of a Turtle document read by rdflib's parser (the reference)."""
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=base)
    except BadSyntax as error:
        line, column = syntax_error_position(text, error)
        raise ParseError(f"Turtle syntax error at line {line}, column {column}", "body") from None
    except Exception:  # rdflib raises assorted types on malformed input
        raise ParseError("Turtle syntax error", "body") from None
    if len(graph) > max_triples:
        raise TooLarge(f"the encounter has more than {max_triples} statements", "body")
    if holds_nul(graph):
        raise _nul()
    return _plain_strings(graph)


def _nul() -> ParseError:
    return ParseError("the document contains a NUL character (escaped as \\u0000)", "body")


def _plain_strings(graph: Graph) -> list[Triple]:
    """The statements with ``"x"^^xsd:string`` written as ``"x"``: one RDF term in RDF 1.1, but two
    to rdflib, and the shapes compare plain strings. Other datatypes and language tags are kept,
    so the shapes report them (docs/encounter-format.md)."""
    triples: list[Triple] = []
    for s, p, o in graph:
        plain = Literal(str(o)) if isinstance(o, Literal) and o.datatype == XSD.string else o
        triples.append((s, p, plain))  # type: ignore[arg-type]
    return triples


def _oxigraph_triples(text: str, base: str, max_triples: int) -> list[Triple]:
    if _VERSION.search(text):
        raise _ReadByRdflib
    try:
        quads = pyoxigraph.parse(text, pyoxigraph.RdfFormat.TURTLE, base_iri=_STAND_IN)
        # rdflib's in-memory order: by subject, then predicate, each as first seen; duplicates
        # (also those rdflib's normalised literals make, such as 7 and 007) once.
        statements: dict[Identifier, dict[URIRef, dict[Identifier, None]]] = {}
        blank: dict[str, BNode] = {}
        for quad in quads:
            s, p, o = quad.subject, quad.predicate, quad.object
            subject = _blank(s.value, blank) if type(s) is pyoxigraph.BlankNode else _iri(s.value, base)
            if type(o) is pyoxigraph.Literal:
                if o.language is not None:
                    raise _ReadByRdflib
                value: Identifier = _literal(o.value, o.datatype.value)
            elif type(o) is pyoxigraph.NamedNode:
                value = _iri(o.value, base)
            elif type(o) is pyoxigraph.BlankNode:
                value = _blank(o.value, blank)
            else:  # a triple term
                raise _ReadByRdflib
            statements.setdefault(subject, {}).setdefault(_iri(p.value, base), {})[value] = None
    except SyntaxError:
        raise _ReadByRdflib from None
    triples = [
        (s, p, o) for s, objects in statements.items() for p, values in objects.items() for o in values
    ]
    if len(triples) > max_triples:
        raise TooLarge(f"the encounter has more than {max_triples} statements", "body")
    if any(escape in text for escape in NUL_ESCAPES) and any(
        "\x00" in t for triple in triples for t in triple
    ):
        raise _nul()
    return triples


def _blank(label: str, seen: dict[str, BNode]) -> BNode:
    # A fresh node per label and document, in rdflib's form: a label written in the document
    # never reaches a finding's focus node.
    node = seen.get(label)
    if node is None:
        node = seen[label] = BNode("N" + os.urandom(16).hex())
    return node


@lru_cache(maxsize=4096)
def _iri(value: str, base: str) -> URIRef:
    if value.startswith(_STAND_IN_ROOT):
        relative = value.removeprefix(_STAND_IN)
        if relative == value or relative[:1] not in ("", "#"):
            raise _ReadByRdflib
        return URIRef(base + relative)
    return URIRef(value)


# Built with rdflib's constructor, as rdflib's parser builds them: the same normalised lexical
# forms (007 is 7, "2025-05-01Z"^^xsd:date is "2025-05-01"), ill-typed values kept as written.
@lru_cache(maxsize=4096)
def _literal(value: str, datatype: str) -> Literal:
    if datatype == _XSD_STRING:
        return Literal(value)
    if datatype.startswith(_STAND_IN_ROOT):  # a relative datatype IRI
        raise _ReadByRdflib
    return Literal(value, datatype=URIRef(datatype))


_XSD_STRING = str(XSD.string)
