"""JSON-LD encounters in a standard processor's forms (expanded, compacted, flattened) read by
pyoxigraph's parser into payerkg's own compact form, as a standard processor (pyld) frames them,
about thirty times faster; pyld frames every document this reading might not give identically
(``compact_form`` says which). pyoxigraph's parser loads no remote context (it has no loader):
the document reaches it with payerkg's context written out.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph

from payerkg.jsondoc import JSONObject

XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
_XSD = "http://www.w3.org/2001/XMLSchema#"
# Relative IRIs resolve against this stand-in base, so that they can be given back as written.
_STAND_IN_ROOT = "http://relative.invalid/"
_STAND_IN = f"{_STAND_IN_ROOT}{secrets.token_hex(8)}/"
# A relative IRI that resolves to itself (no dot segments, no path, query or fragment).
_PLAIN_RELATIVE = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Term:
    """A context term as compaction uses it: its name, datatype coercion, and ``@set`` container."""

    name: str
    datatype: str | None
    is_set: bool


def context_terms(context: Mapping[str, Any]) -> dict[str, Term]:
    """The terms of a context (``@context``'s object) by the property IRI each names.

    >>> context_terms({"pk": "urn:pk#", "lines": {"@id": "pk:line", "@container": "@set"}})
    {'urn:pk#line': Term(name='lines', datatype=None, is_set=True)}
    """
    prefixes = {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("#", "/"))}

    def expand(curie: str) -> str:
        prefix, _, local = curie.partition(":")
        return prefixes[prefix] + local if prefix in prefixes else curie

    terms: dict[str, Term] = {}
    for name, definition in context.items():
        if name.startswith("@") or name in prefixes or definition == "@id":
            continue
        if isinstance(definition, str):
            terms[expand(definition)] = Term(name, None, False)
        else:
            datatype = definition.get("@type")
            is_set = definition.get("@container") == "@set"
            terms[expand(definition["@id"])] = Term(name, expand(datatype) if datatype else None, is_set)
    return terms


class _Framed(Exception):
    """A document this reading might not give as pyld frames it: pyld frames it."""


def compact_form(document: Any, terms: dict[str, Term], prefixes: tuple[str, ...]) -> JSONObject | None:
    """The one encounter of a JSON-LD document (its contexts checked and written out) in payerkg's
    compact form, ``id`` as a processor writes the node's IRI; or None, and pyld frames it, when
    the document holds what its RDF statements cannot say back exactly: a float, a typed or
    language-tagged string (a date on ``date_of_service`` aside), a number or boolean under
    ``date_of_service``, an ``@id`` that is neither absolute nor a plain name, a property or type
    outside the context, a node named by an IRI below the encounter, a blank node used twice,
    nodes and values under one property, or not exactly one node with ``date_of_service``.
    ``prefixes`` are the context's prefix IRIs (a node IRI under one compacts to a prefixed name).
    """
    try:
        _check_values(document, {term.name for term in terms.values() if term.datatype is not None})
        return _compact(document, terms, prefixes)
    except _Framed:
        return None


def _check_values(document: Any, coerced: set[str]) -> None:
    """Refuse (to pyld) what RDF statements cannot say back: see ``compact_form``. A term with a
    type coercion must hold strings: processors type a number or boolean under it too."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name in coerced.intersection(item):
                values = item[name] if isinstance(item[name], list) else [item[name]]
                if not all(isinstance(value, str | dict) for value in values):
                    raise _Framed
            if "@value" in item:
                value, datatype = item["@value"], item.get("@type")
                if set(item) - {"@value", "@type"} or (datatype is not None and not isinstance(value, str)):
                    raise _Framed
                if datatype is not None and datatype not in (XSD_DATE, "xsd:date"):
                    raise _Framed
            for key in ("@id", "id"):
                iri = item.get(key)
                if isinstance(iri, str) and not iri.startswith("_:") and not _absolute_or_plain(iri):
                    raise _Framed
            stack.extend(value for key, value in item.items() if key != "@context")  # payerkg's
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) or (isinstance(item, int) and abs(item) >= _SAFE_INTEGER):
            raise _Framed


def _absolute_or_plain(iri: str) -> bool:
    scheme, colon, _ = iri.partition(":")
    return bool(colon and scheme[:1].isalpha()) or bool(_PLAIN_RELATIVE.fullmatch(iri))


def _compact(document: Any, terms: dict[str, Term], prefixes: tuple[str, ...]) -> JSONObject:
    statements: dict[str, dict[str, dict[Any, None]]] = {}
    named: list[str] = []
    try:
        for quad in pyoxigraph.parse(json.dumps(document), pyoxigraph.RdfFormat.JSON_LD, base_iri=_STAND_IN):
            s, p, o = quad.subject, quad.predicate, quad.object
            if not isinstance(quad.graph_name, pyoxigraph.DefaultGraph):
                raise _Framed
            subject = _node(s)
            if p.value == _DATE_OF_SERVICE:
                named.append(subject)
            statements.setdefault(subject, {}).setdefault(p.value, {})[_object(o)] = None
    except SyntaxError:
        raise _Framed from None
    if len(named) != 1 or not named[0].startswith("<"):
        raise _Framed
    seen = {named[0]}
    framed = _node_fields(named[0], statements, terms, seen)
    if seen != set(statements):  # statements about nodes the encounter does not hold
        raise _Framed
    iri = named[0][1:-1]
    if iri.startswith(_STAND_IN_ROOT):
        iri = iri.removeprefix(_STAND_IN)
        if not _PLAIN_RELATIVE.fullmatch(iri):
            raise _Framed
    elif iri.startswith(prefixes):
        raise _Framed
    return {"id": iri, **framed}


_DATE_OF_SERVICE = "https://w3id.org/payerkg/ontology#dateOfService"


def _node(term: Any) -> str:
    if type(term) is pyoxigraph.BlankNode:
        return "_:" + term.value
    return f"<{term.value}>"


def _object(term: Any) -> Any:
    if type(term) is pyoxigraph.Literal:
        if term.language is not None:
            raise _Framed
        return (term.value, term.datatype.value)
    if type(term) in (pyoxigraph.BlankNode, pyoxigraph.NamedNode):
        return _node(term)
    raise _Framed


def _node_fields(
    node: str, statements: dict[str, dict[str, dict[Any, None]]], terms: dict[str, Term], seen: set[str]
) -> JSONObject:
    fields: JSONObject = {}
    for predicate, objects in statements.get(node, {}).items():
        term = terms.get(predicate)
        if term is None:
            raise _Framed
        if len({isinstance(o, str) for o in objects}) > 1:  # nodes and values: order not kept
            raise _Framed
        values = [_value(o, term, statements, terms, seen) for o in objects]
        fields[term.name] = values if term.is_set or len(values) > 1 else values[0]
    return fields


def _value(
    term_object: Any,
    term: Term,
    statements: dict[str, dict[str, dict[Any, None]]],
    terms: dict[str, Term],
    seen: set[str],
) -> Any:
    if isinstance(term_object, str):  # a node
        if not term_object.startswith("_:") or term_object in seen:
            raise _Framed
        seen.add(term_object)
        return _node_fields(term_object, statements, terms, seen)
    lexical, datatype = term_object
    if datatype != (term.datatype or datatype) or (term.datatype is None and datatype == XSD_DATE):
        raise _Framed
    if datatype in (XSD_DATE, _XSD + "string"):
        return lexical
    if datatype == _XSD + "integer":
        return int(lexical)
    if datatype == _XSD + "boolean":
        return lexical == "true"
    raise _Framed
