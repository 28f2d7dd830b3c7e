"""Encounters as submitted: plain JSON, JSON-LD with payerkg's context, or Turtle, parsed into an
rdflib graph in memory with hard limits. Nothing a document points to is ever fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from rdflib import Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from payerkg.core.dataset import default_data_root
from payerkg.errors import (
    ContextNotAllowed,
    InvalidEncounter,
    ParseError,
    TooDeep,
    TooLarge,
    UnsupportedFormat,
)
from payerkg.namespaces import PK

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


@dataclass
class Encounter:
    """A parsed encounter: its graph and the node that is the encounter."""

    graph: Graph
    node: URIRef
    id: str


@cache
def context_document() -> dict[str, Any]:
    """The JSON-LD context shipped with payerkg (the only one accepted)."""
    return dict(json.loads(_ontology_file("encounter.context.jsonld")))


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema of the plain-JSON encounter format."""
    return dict(json.loads(_ontology_file("encounter.schema.json")))


@cache
def example_encounter() -> dict[str, Any]:
    """A documented example encounter (shipped with the format)."""
    return dict(json.loads(_ontology_file("encounter.example.json")))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())


def _ontology_file(name: str) -> str:
    return (default_data_root() / "ontology" / name).read_text(encoding="utf-8")


def parse_encounter(body: bytes, media_type: str, limits: Limits = DEFAULT_LIMITS) -> Encounter:
    """Parse one submitted encounter, or raise an InputError saying what is wrong (never echoing it)."""
    kind = media_type.split(";")[0].strip().lower()
    if kind not in ACCEPTED_TYPES:
        raise UnsupportedFormat(
            "encounters are accepted as application/json, application/ld+json or text/turtle",
            "content-type",
        )
    if len(body) > limits.max_bytes:
        raise TooLarge(f"the document is larger than {limits.max_bytes} bytes", "body")
    text = _decode(body)
    if kind in TURTLE_TYPES:
        return _from_turtle(text, limits)
    document = _load_json(text, limits)
    return encounter_from_json(document, require_context=kind == "application/ld+json", limits=limits)


def encounter_from_json(
    document: Any, require_context: bool = False, limits: Limits = DEFAULT_LIMITS
) -> Encounter:
    """Build the graph of a JSON encounter already parsed from text (see parse_encounter)."""
    if not isinstance(document, dict):
        raise InvalidEncounter("an encounter must be a JSON object", "body")
    _check_contexts(document, require_context)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidEncounter("; ".join(_schema_message(e) for e in errors[:5]), _field(errors[0]))
    normalized = {key: value for key, value in document.items() if key != "@context"}
    normalized["id"] = ENCOUNTER_BASE + document["id"]
    normalized["lines"] = [dict(line, line_number=i) for i, line in enumerate(document["lines"])]
    graph = Graph()
    # The context travels inline, so the parser has nothing to fetch.
    graph.parse(data=json.dumps({**context_document(), **normalized}), format="json-ld")
    _check_triples(graph, limits)
    return Encounter(graph, URIRef(normalized["id"]), document["id"])


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"the document is not UTF-8 (byte {error.start})", "body") from None


def _load_json(text: str, limits: Limits) -> Any:
    if "\x00" in text:
        raise ParseError("the document contains a NUL character", "body")
    try:
        document = json.loads(text)
    except RecursionError:
        raise TooDeep(f"the document nests deeper than {limits.max_depth} levels", "body") from None
    except json.JSONDecodeError as error:
        raise ParseError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}", "body"
        ) from None
    if _depth(document) > limits.max_depth:
        raise TooDeep(f"the document nests deeper than {limits.max_depth} levels", "body")
    return document


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _check_contexts(document: dict[str, Any], require_context: bool) -> None:
    context = document.get("@context")
    if context is None and require_context:
        raise ContextNotAllowed(f"JSON-LD encounters must use the payerkg context {CONTEXT_URL}", "@context")
    if context is not None and context != CONTEXT_URL:
        named = context if isinstance(context, str) and len(context) <= 200 else "an inline or listed context"
        raise ContextNotAllowed(f"context {named} is not allowed; use {CONTEXT_URL}", "@context")
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
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=ENCOUNTER_BASE)
    except BadSyntax as error:
        line = text[: error._i].count("\n") + 1
        column = error._i - (text.rfind("\n", 0, error._i) + 1) + 1
        raise ParseError(f"Turtle syntax error at line {line}, column {column}", "body") from None
    except Exception:  # rdflib raises assorted types on malformed input
        raise ParseError("Turtle syntax error", "body") from None
    _check_triples(graph, limits)
    nodes = [s for s in graph.subjects(PK.dateOfService, None) if isinstance(s, URIRef)]
    if len(nodes) != 1:
        raise InvalidEncounter("a Turtle encounter must have exactly one node with pk:dateOfService", "body")
    node = nodes[0]
    return Encounter(graph, node, str(node).removeprefix(ENCOUNTER_BASE))


def _check_triples(graph: Graph, limits: Limits) -> None:
    if len(graph) > limits.max_triples:
        raise TooLarge(f"the encounter has more than {limits.max_triples} statements", "body")


def data_file(name: str) -> Path:
    """A file shipped in the ontology folder (context, schema), for publishing."""
    return default_data_root() / "ontology" / name
