"""Encounters as submitted: plain JSON, JSON-LD with payerkg's context, or Turtle, parsed into an
rdflib graph in memory with hard limits. Nothing a document points to is ever fetched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

if TYPE_CHECKING:  # imported to explain a refusal: a valid encounter never loads it
    import jsonschema
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier

from payerkg.errors import (
    ContextNotAllowed,
    InvalidEncounter,
    ParseError,
    TooDeep,
    TooLarge,
    UnsupportedFormat,
)
from payerkg.graph.dataset import default_data_root
from payerkg.jsondoc import JSONObject
from payerkg.namespaces import PK
from payerkg.validation.encounter_schema import check_encounter
from payerkg.validation.json_ld import Term, compact_form, context_terms
from payerkg.validation.turtle import read_turtle

CONTEXT_URL = "https://w3id.org/payerkg/context/encounter.jsonld"
ENCOUNTER_BASE = "urn:payerkg:encounter:"
JSON_TYPES = ("application/json", "application/ld+json")
TURTLE_TYPES = ("text/turtle", "application/x-turtle")
ACCEPTED_TYPES = (*JSON_TYPES, *TURTLE_TYPES)


@dataclass(frozen=True)
class Limits:
    """Caps on one submitted encounter."""

    max_bytes: int = 256 * 1024
    max_depth: int = 128
    max_triples: int = 5_000


DEFAULT_LIMITS = Limits()


Triple = tuple[Identifier, URIRef, Identifier]


@dataclass
class Encounter:
    """A parsed encounter: its statements and the node that is the encounter."""

    triples: list[Triple]
    node: URIRef
    id: str
    _graph: Graph | None = field(default=None, repr=False)

    @property
    def graph(self) -> Graph:
        """The statements as an rdflib graph, built only when asked (pyshacl, reports)."""
        if self._graph is None:
            self._graph = Graph()
            for triple in self.triples:
                self._graph.add(triple)
        return self._graph


@cache
def context_document() -> JSONObject:
    """The JSON-LD context shipped with payerkg (the only one accepted)."""
    return dict(json.loads(_ontology_file("encounter.context.jsonld")))


@cache
def json_schema() -> JSONObject:
    """The JSON Schema of the plain-JSON encounter format."""
    return dict(json.loads(_ontology_file("encounter.schema.json")))


@cache
def example_encounter() -> JSONObject:
    """A documented example encounter (shipped with the format)."""
    return dict(json.loads(_ontology_file("encounter.example.json")))


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


FORMATS: dict[str, Callable[[str], bool]] = {"date": _is_date}
"""The formats the schema names that fastjsonschema does not check itself."""


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())


def _ontology_file(name: str) -> str:
    return (default_data_root() / "ontology" / name).read_text(encoding="utf-8")


def parse_encounter(body: bytes, media_type: str, limits: Limits = DEFAULT_LIMITS) -> Encounter:
    """Parse one submitted encounter, or raise an InputError saying what is wrong (never echoing it)."""
    kind = media_type.split(";")[0].strip().lower()
    if kind not in ACCEPTED_TYPES:
        raise UnsupportedFormat(
            "encounters are accepted as application/json, application/ld+json or text/turtle, "
            "claims as application/fhir+json or application/edi-x12",
            "content-type",
        )
    if len(body) > limits.max_bytes:
        raise TooLarge(f"the document is larger than {limits.max_bytes} bytes", "body")
    text = _decode(body)
    if kind in TURTLE_TYPES:
        return _from_turtle(text, limits)
    document = load_json(text, limits)
    if kind == "application/ld+json":
        if not _in_payerkg_form(document):
            document = framed_encounter(document)
        elif isinstance(document.get("id"), str):  # in JSON-LD, the id is an IRI: the full one too
            document = dict(document, id=encounter_id(document["id"]))
    return encounter_from_json(document, require_context=kind == "application/ld+json", limits=limits)


def encounter_from_json(
    document: Any, require_context: bool = False, limits: Limits = DEFAULT_LIMITS
) -> Encounter:
    """Build the graph of a JSON encounter already parsed from text (see parse_encounter)."""
    if not isinstance(document, dict):
        raise InvalidEncounter("an encounter must be a JSON object", "body")
    _check_contexts(document, require_context)
    try:
        check_encounter(document, FORMATS)
        errors = []
    except fastjsonschema.JsonSchemaException:
        # The compiled check only says no; jsonschema says which fields and why.
        errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidEncounter("; ".join(_schema_message(e) for e in errors[:5]), _field(errors[0]))
    normalized = normalized_document(document)
    triples = json_ld_triples(normalized)
    if len(triples) > limits.max_triples:
        raise TooLarge(f"the encounter has more than {limits.max_triples} statements", "body")
    return Encounter(triples, URIRef(normalized["id"]), document["id"])


def _in_payerkg_form(document: Any) -> bool:
    """Whether a JSON-LD document is payerkg's own compact form: the context IRI, no other keyword."""
    if not isinstance(document, dict) or any(key.startswith("@") and key != "@context" for key in document):
        return False
    try:
        _check_contexts(document, require_context=True)
    except ContextNotAllowed:
        return False
    return True


JSON_LD_KEYWORDS = frozenset({"@context", "@id", "@type", "@value", "@graph", "@set", "@list", "@language"})
"""The keywords a standard processor writes for an encounter (expanded, compacted, flattened); any
other (``@import``, ``@included``, ``@reverse``, ``@nest``, ...) is refused."""


def framed_encounter(document: Any) -> JSONObject:
    """An encounter in any JSON-LD form a standard processor makes from the payerkg context
    (expanded, compacted, flattened), framed into payerkg's own compact form by a standard
    processor (pyld), so that it means the same graph and goes through the same checks.

    Nothing is fetched: the only context allowed is payerkg's, by its IRI or written out; it is
    given to the processor from the package, and any other load is refused. pyoxigraph's parser
    reads the document when its statements say the framed form back exactly (``compact_form``).
    """
    document = _with_local_context(document)
    framed = compact_form(document, _context_terms(), _context_prefixes())
    if framed is None:  # what pyoxigraph's reading might not give as pyld frames it
        framed = _framed_by_pyld(document)
    framed["id"] = encounter_id(str(framed["id"]))
    return {"@context": CONTEXT_URL, **framed}


def _framed_by_pyld(document: Any) -> JSONObject:
    from pyld import jsonld  # imported when needed: the plain JSON path does without it

    frame = {"@context": context_document()["@context"], "date_of_service": {}}
    try:
        framed: JSONObject = jsonld.frame(document, frame, {"documentLoader": _no_loading})
    except RecursionError:
        raise TooDeep("the document nests too deeply to process as JSON-LD", "body") from None
    except Exception as error:  # JsonLdError, and assorted types on input the processor did not expect
        if isinstance(_root_cause(error), ContextNotAllowed):
            raise ContextNotAllowed(
                f"only the payerkg context {CONTEXT_URL} is allowed", "@context"
            ) from None
        raise ParseError("the document is not valid JSON-LD", "body") from None
    framed.pop("@context", None)
    if "@graph" in framed or "id" not in framed:
        raise InvalidEncounter(
            "a JSON-LD encounter must be exactly one node, named by an IRI, with pk:dateOfService", "body"
        )
    return framed


@cache
def _context_terms() -> dict[str, Term]:
    return context_terms(context_document()["@context"])


@cache
def _context_prefixes() -> tuple[str, ...]:
    context = context_document()["@context"]
    return tuple(v for v in context.values() if isinstance(v, str) and v.endswith(("#", "/")))


def encounter_id(iri: str) -> str:
    """The encounter id a node IRI names: ``urn:payerkg:encounter:<id>``, a relative ``<id>``, or
    ``<id>`` as a JSON-LD processor resolves it against its document's base (the last path segment).

    >>> [encounter_id(i) for i in ("urn:payerkg:encounter:v-1", "v-1", "file:///home/me/v-1")]
    ['v-1', 'v-1', 'v-1']
    """
    if iri.startswith(ENCOUNTER_BASE):
        return iri.removeprefix(ENCOUNTER_BASE)
    scheme, colon, rest = iri.partition(":")
    if colon and "/" in rest and scheme.isalpha():
        return rest.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
    return iri


def _with_local_context(document: Any) -> Any:
    """The document with payerkg's context written out in place of its IRI; any other context
    (another IRI, one not identical to payerkg's, one below the top) and unknown keywords refused."""
    published = context_document()["@context"]
    nodes = document if isinstance(document, list) else [document]
    if not nodes or not all(isinstance(node, dict) for node in nodes):
        raise InvalidEncounter("a JSON-LD encounter must be a JSON object or an array of them", "body")
    contexts = [node["@context"] for node in nodes if "@context" in node]
    for context in contexts:
        if context != CONTEXT_URL and context != published:  # never repeated: a URL may carry data
            raise ContextNotAllowed(f"the context is not allowed; use {CONTEXT_URL}", "@context")
    if not contexts and any(_has_relative_term(node) for node in nodes):
        raise ContextNotAllowed(f"JSON-LD encounters must use the payerkg context {CONTEXT_URL}", "@context")
    stack: list[Any] = [{key: value for key, value in node.items() if key != "@context"} for node in nodes]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keyword = next((key for key in item if key.startswith("@") and key not in JSON_LD_KEYWORDS), None)
            if keyword is not None:
                raise ContextNotAllowed(
                    f"JSON-LD keyword {keyword[:20]} is not allowed in an encounter", keyword[:20]
                )
            if "@context" in item:
                raise ContextNotAllowed("a context is allowed only at the top of the document", "@context")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    if isinstance(document, list):
        return [dict(node, **{"@context": published}) if "@context" in node else node for node in document]
    return dict(document, **{"@context": published}) if "@context" in document else document


def _has_relative_term(node: Any) -> bool:
    """Whether a node without a context uses a key that is neither a keyword nor an absolute IRI."""
    if isinstance(node, list):
        return any(_has_relative_term(item) for item in node)
    if not isinstance(node, dict):
        return False
    return any(
        (not key.startswith("@") and ":" not in key) or _has_relative_term(value)
        for key, value in node.items()
    )


def _no_loading(url: str, options: object = None) -> JSONObject:
    raise ContextNotAllowed(f"only the payerkg context {CONTEXT_URL} is allowed", "@context")


def _root_cause(error: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        cause = getattr(error, "cause", None) or error.__cause__ or error.__context__
        if cause is None:
            break
        error = cause
    return error


def normalized_document(document: JSONObject) -> JSONObject:
    """The encounter as JSON-LD node: full IRI for its id, numbered lines, no context key."""
    normalized = {key: value for key, value in document.items() if key != "@context"}
    normalized["id"] = ENCOUNTER_BASE + document["id"]
    normalized["lines"] = [dict(line, line_number=i) for i, line in enumerate(document["lines"])]
    return normalized


@cache
def _terms() -> dict[str, tuple[URIRef, URIRef | None]]:
    """Each context term's property IRI and datatype coercion, read from the shipped context."""
    context = context_document()["@context"]
    prefixes = {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("#", "/"))}

    def expand(curie: str) -> URIRef:
        prefix, _, local = curie.partition(":")
        return URIRef(prefixes[prefix] + local) if prefix in prefixes else URIRef(curie)

    terms: dict[str, tuple[URIRef, URIRef | None]] = {}
    for term, definition in context.items():
        if term.startswith("@") or term in prefixes or definition == "@id":
            continue
        if isinstance(definition, str):
            terms[term] = (expand(definition), None)
        else:
            datatype = definition.get("@type")
            terms[term] = (expand(definition["@id"]), expand(datatype) if datatype else None)
    return terms


def json_ld_triples(node: JSONObject, subject: Identifier | None = None) -> list[Triple]:
    """The statements JSON-LD expansion with the payerkg context gives for a normalized encounter.

    Equivalent to rdflib's JSON-LD parser for this context (a differential test checks it) and
    about fifty times faster, because it needs no general expansion algorithm.
    """
    terms = _terms()
    this: Identifier = subject if subject is not None else URIRef(node["id"])
    triples: list[Triple] = []
    for key, raw in node.items():
        if key == "id" or key not in terms:
            continue
        predicate, datatype = terms[key]
        for value in raw if isinstance(raw, list) else [raw]:
            if isinstance(value, dict):
                child = _blank_node()
                triples.append((this, predicate, child))
                triples.extend(json_ld_triples(value, child))
            elif value is not None:
                triples.append((this, predicate, _literal(value, datatype)))
    return triples


def _blank_node() -> BNode:
    # rdflib's own form (N and 32 random hex digits) without building a UUID object.
    return BNode("N" + os.urandom(16).hex())


# Literals are immutable and encounters repeat the same codes, dates and settings; building them
# (rdflib parses dates and numbers) was most of the mapping's cost. typed=True keeps True, 1 and
# 1.0 apart.
@lru_cache(maxsize=4096, typed=True)
def _literal(value: Any, datatype: URIRef | None) -> Literal:
    if datatype is not None:
        return Literal(str(value), datatype=datatype)
    if isinstance(value, bool | int):
        return Literal(value)
    if isinstance(value, float):
        return Literal(value, datatype=XSD.double)
    return Literal(str(value))


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"the document is not UTF-8 (byte {error.start})", "body") from None


def load_json(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """A JSON document, refused (never echoed) if it holds a NUL, does not parse or nests deeper
    than ``limits.max_depth``."""
    if "\x00" in text:
        raise ParseError("the document contains a NUL character", "body")
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except DuplicateKey:  # the key is not named: it may be a submitted value
        raise ParseError("a JSON object names the same key twice", "body") from None
    except RecursionError:
        raise TooDeep(f"the document nests deeper than {limits.max_depth} levels", "body") from None
    except json.JSONDecodeError as error:
        raise ParseError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}", "body"
        ) from None
    if _depth(document) > limits.max_depth:
        raise TooDeep(f"the document nests deeper than {limits.max_depth} levels", "body")
    return document


class DuplicateKey(ValueError):
    """A JSON object names one key twice."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> JSONObject:
    """A JSON object, refused when a key repeats (JSON leaves it open; Python keeps the last)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKey
    return document


def _depth(document: Any) -> int:
    # Level by level: one list per level costs less than a stack entry per node.
    depth, level = 1, [document]
    while True:
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
            if isinstance(child, dict | list)
        ]
        if not level:
            return depth
        depth += 1


def _check_contexts(document: JSONObject, require_context: bool) -> None:
    context = document.get("@context")
    if context is None and require_context:
        raise ContextNotAllowed(f"JSON-LD encounters must use the payerkg context {CONTEXT_URL}", "@context")
    if context is not None and context != CONTEXT_URL:  # never repeated: a URL may carry data
        raise ContextNotAllowed(f"the context is not allowed; use {CONTEXT_URL}", "@context")
    stack: list[Any] = [value for key, value in document.items() if key != "@context"]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keyword = next((key for key in node if key.startswith("@")), None)
            if keyword is not None:
                raise ContextNotAllowed(
                    f"JSON-LD keyword {keyword[:20]} is not allowed inside an encounter", keyword[:20]
                )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _schema_message(error: jsonschema.ValidationError) -> str:
    field = _field(error)
    reason = {
        "required": "a required field is missing",
        "additionalProperties": "has a field the format does not define",
        "pattern": "is not in the expected form",
        "enum": "is not one of the allowed values",
        "type": f"must be of type {error.validator_value}",
        "format": "is not a valid date",
        "minItems": "must not be empty",
        "maxItems": "has too many items",
        "minimum": "is below the minimum",
        "maximum": "is above the maximum",
        "const": "must be the payerkg context",
    }.get(str(error.validator), "does not follow the encounter format")
    if error.validator in ("required", "additionalProperties"):
        names = sorted(set(error.message.split("'")[1::2]))
        allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        shown = [n for n in names if n in allowed or error.validator == "required"]
        reason += f" ({', '.join(shown)})" if shown else ""
    return f"{field}: {reason}"


def _field(error: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return ("encounter" + "".join(parts)) if parts else "encounter"


def _from_turtle(text: str, limits: Limits) -> Encounter:
    if "\x00" in text:
        raise ParseError("the document contains a NUL character", "body")
    triples = read_turtle(text, ENCOUNTER_BASE, limits.max_triples)
    if _nests_deeper(triples, limits.max_depth):
        raise TooDeep(f"the document nests deeper than {limits.max_depth} levels", "body")
    nodes = [s for s, p, _ in triples if p == PK.dateOfService and isinstance(s, URIRef)]
    if len(nodes) != 1:
        raise InvalidEncounter("a Turtle encounter must have exactly one node with pk:dateOfService", "body")
    node = nodes[0]
    return Encounter(triples, node, str(node).removeprefix(ENCOUNTER_BASE))


def _nests_deeper(triples: list[Triple], most: int) -> bool:
    """Whether blank nodes nest (``[ ... [ ... ] ]``) more than ``most`` levels below the nodes
    named by IRIs; counted only when there are enough blank nodes to do so."""
    if len(triples) <= most:  # each level takes a statement
        return False
    children: dict[Identifier, list[Identifier]] = {}
    for s, _, o in triples:
        if isinstance(o, BNode):
            children.setdefault(s, []).append(o)
    if sum(len(nodes) for nodes in children.values()) <= most:
        return False
    below = {o for nodes in children.values() for o in nodes}
    level, seen, depth = [s for s in children if s not in below], set[Identifier](), 0
    while level and depth <= most:
        seen.update(level)
        level = [o for node in level for o in children.get(node, ()) if o not in seen]
        depth += bool(level)
    return depth > most


def data_file(name: str) -> Path:
    """A file shipped in the ontology folder (context, schema), for publishing."""
    return default_data_root() / "ontology" / name
