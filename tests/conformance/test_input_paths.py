"""Turtle read by Oxigraph's parser gives the graph and the findings rdflib's parser gave (the
reference: ``rdflib_triples``), for every shipped encounter written as Turtle two ways, for Turtle
that rdflib reads in its own way (normalised literals, typed strings, relative IRIs, language
tags), and for every Turtle refusal; the same encounters as JSON and expanded JSON-LD get the same
findings too."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from rdflib import BNode, Graph, Literal
from rdflib.compare import isomorphic
from rdflib.term import Identifier

from payerkg.errors import InputError
from payerkg.graph.dataset import PolicyGraph, default_data_root
from payerkg.validation import encounter as encounter_module
from payerkg.validation import turtle as turtle_module
from payerkg.validation.encounter import CONTEXT_URL, Encounter, context_document, parse_encounter
from payerkg.validation.json_ld import compact_form
from payerkg.validation.turtle import Triple, rdflib_triples
from payerkg.validation.validate import validate_encounter

ROOT = default_data_root()
NEVER_SILENT = Path(__file__).parent / "never-silent"
TURTLE = "text/turtle"


def shipped_encounters() -> dict[str, dict[str, Any]]:
    """Every encounter shipped as JSON: the rule cases, the never-silent cases, the examples."""
    found = {
        path.stem: json.loads(path.read_text())["encounter"]
        for path in sorted((ROOT / "policies").glob("*/cases/encounters/*.json"))
    }
    found |= {
        path.name: json.loads(path.read_text())
        for path in sorted(NEVER_SILENT.glob("*.json"))
        if path.name != "expected.json"
    }
    found["encounter.example.json"] = json.loads((ROOT / "ontology" / "encounter.example.json").read_text())
    day = (ROOT / "docs" / "examples" / "day.ndjson").read_text().splitlines()
    found |= {f"day.ndjson:{i}": json.loads(line) for i, line in enumerate(day, 1) if line.strip()}
    return found


SHIPPED = shipped_encounters()
SHIPPED_TURTLE = sorted(path.name for path in NEVER_SILENT.glob("*.ttl"))


def both_paths(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Encounter | str, Encounter | str, bool]:
    """The document read by rdflib's parser (as before) and by the path in use: an encounter,
    or the refusal's code and message; and whether the path in use left it to rdflib."""

    def parsed() -> Encounter | str:
        try:
            return parse_encounter(body, TURTLE)
        except InputError as error:
            return f"{error.code}: {error.message} ({error.pointer})"

    with monkeypatch.context() as patch:
        patch.setattr(encounter_module, "read_turtle", rdflib_triples)
        old = parsed()
    left: list[str] = []

    def recorded(text: str, base: str, max_triples: int) -> list[Triple]:
        left.append(text)
        return rdflib_triples(text, base, max_triples)

    with monkeypatch.context() as patch:
        patch.setattr(turtle_module, "rdflib_triples", recorded)
        new = parsed()
    return old, new, bool(left)


def findings(policy: PolicyGraph, encounter: Encounter) -> tuple[bool, list[dict[str, Any]]]:
    """The verdict and every finding in order; a blank focus node's label (random) left out."""
    result = validate_encounter(policy, encounter)
    shown = []
    for finding in result.findings:
        blank = any(isinstance(s, BNode) and str(s) == finding.focus_node for s, _, _ in encounter.triples)
        shown.append(dataclasses.asdict(finding) | ({"focus_node": "_:"} if blank else {}))
    return result.no_violations, shown


def assert_same(policy: PolicyGraph, old: Encounter | str, new: Encounter | str) -> None:
    if isinstance(old, str) or isinstance(new, str):
        assert new == old
        return
    assert (new.id, new.node) == (old.id, old.node)
    assert len(new.triples) == len(old.triples)
    assert masked(new) == masked(old)
    if "iri-with" not in str(old.node):  # rdflib cannot write IRIs it read with a space or a pipe
        assert isomorphic(new.graph, old.graph)
    assert findings(policy, new) == findings(policy, old)


def masked(encounter: Encounter) -> list[tuple[str, ...]]:
    """The statements, each blank node written ``_:``, sorted."""
    return sorted(tuple(map(_shown, triple)) for triple in encounter.triples)


def _shown(term: Identifier) -> str:
    if isinstance(term, Literal):
        return f"{term!s}^^{term.datatype}@{term.language}"
    return "_:" if isinstance(term, BNode) else f"<{term}>"


def as_turtle(document: dict[str, Any], writer: str) -> bytes:
    graph: Graph = parse_encounter(json.dumps(document).encode(), "application/json").graph
    graph.bind("pk", "https://w3id.org/payerkg/ontology#")
    return graph.serialize(format=writer).encode()


@pytest.mark.parametrize("writer", ["turtle", "nt"])
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_encounters_as_turtle_read_as_before(
    policy: PolicyGraph, monkeypatch: pytest.MonkeyPatch, name: str, writer: str
) -> None:
    """Nested ``[ ]`` (rdflib's Turtle) and labelled blank nodes (N-Triples, also Turtle)."""
    old, new, left_to_rdflib = both_paths(as_turtle(SHIPPED[name], writer), monkeypatch)
    assert not isinstance(old, str), old
    assert not left_to_rdflib
    assert_same(policy, old, new)


@pytest.mark.parametrize("name", SHIPPED_TURTLE)
def test_shipped_turtle_encounters_read_as_before(
    policy: PolicyGraph, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    old, new, left_to_rdflib = both_paths((NEVER_SILENT / name).read_bytes(), monkeypatch)
    assert_same(policy, old, new)
    assert left_to_rdflib == ("language-tagged" in name)


def load_context(url: str, options: object = None) -> dict[str, Any]:
    assert url == CONTEXT_URL
    return {"contextUrl": None, "documentUrl": url, "document": context_document()}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_json_turtle_and_expanded_json_ld_get_the_same_findings(policy: PolicyGraph, name: str) -> None:
    document = SHIPPED[name]
    native = parse_encounter(json.dumps(document).encode(), "application/json")
    compact = {"@context": CONTEXT_URL, **{k: v for k, v in document.items() if k != "@context"}}
    expanded = jsonld.expand(compact, {"documentLoader": load_context})
    expected = findings(policy, native)
    assert findings(policy, parse_encounter(as_turtle(document, "turtle"), TURTLE)) == expected
    assert findings(policy, parse_encounter(json.dumps(expanded).encode(), "application/ld+json")) == expected


PK = "@prefix pk: <https://w3id.org/payerkg/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
EXAMPLE = (NEVER_SILENT / "conforms-plain-turtle.ttl").read_text()
# Each replaces one piece of the shipped Turtle example (or, without a piece, is a whole document).
VARIANTS: dict[str, tuple[str, str] | str] = {
    "integer-leading-zeros": ("pk:minutes 32", "pk:minutes 0032"),
    "integer-typed-string": ("pk:minutes 32", 'pk:minutes "32"^^xsd:integer'),
    "integer-plus-sign": ("pk:minutes 32", "pk:minutes +32"),
    "integer-spaces-inside": ("pk:minutes 32", 'pk:minutes " 32 "^^xsd:integer'),
    "integer-ill-typed": ("pk:minutes 32", 'pk:minutes "thirty"^^xsd:integer'),
    "integer-as-decimal": ("pk:minutes 32", "pk:minutes 32.0"),
    "integer-as-double": ("pk:minutes 32", "pk:minutes 3.2E1"),
    "integer-twice-once-normalised": ("pk:minutes 32", "pk:minutes 32, 032"),
    "boolean-one": ("pk:rural false", 'pk:rural "0"^^xsd:boolean'),
    "boolean-upper-case": ("pk:rural false", 'pk:rural "FALSE"^^xsd:boolean'),
    "date-with-timezone": ('"2025-05-01"^^xsd:date', '"2025-05-01Z"^^xsd:date'),
    "date-ill-typed": ('"2025-05-01"^^xsd:date', '"2025-5-1"^^xsd:date'),
    "date-as-string": ('"2025-05-01"^^xsd:date', '"2025-05-01"'),
    "date-twice": ('"2025-05-01"^^xsd:date', '"2025-05-01"^^xsd:date, "2025-06-01"^^xsd:date'),
    "code-typed-string": ('"99214"', '"99214"^^xsd:string'),
    "code-typed-token": ('"99214"', '"99214"^^xsd:token'),
    "code-language-tag": ('"99214"', '"99214"@EN-us'),
    "code-long-string": ('"99214"', '"""99214"""'),
    "code-escaped": ('"99214"', '"\\u00399214"'),
    "modifier-tab-escape": ('"93"', '"9\\t3"'),
    "node-relative-fragment": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<#visit>"),
    "node-relative-empty": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<>"),
    "node-relative-name": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<visit>"),
    "node-relative-query": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<?visit>"),
    "node-relative-parent": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<../visit>"),
    "node-base-declared": (
        "<urn:payerkg:encounter:conforms-plain-turtle>",
        "@base <https://biller.example/e/> . <visit>",
    ),
    "node-empty-prefix-on-base": ("<urn:payerkg:encounter:conforms-plain-turtle>", "@prefix e: <> . e:visit"),
    "node-fragment-prefix": ("<urn:payerkg:encounter:conforms-plain-turtle>", "@prefix e: <#> . e:visit"),
    "node-blank": ("<urn:payerkg:encounter:conforms-plain-turtle>", "[]"),
    "node-labelled-blank": ("<urn:payerkg:encounter:conforms-plain-turtle>", "_:visit"),
    "line-labelled-blank": (
        "pk:line [",
        "pk:line _:line1 . _:line1 pk:units 1 . _:line1 pk:code 1 .\n_:x pk:y [",
    ),
    "line-blank-shared": (
        "pk:patient [",
        "pk:patient _:p . _:p pk:patientStatus 'new' . _:q pk:r _:p .\n_:x pk:y [",
    ),
    "datatype-relative": ('"99214"', '"99214"^^<token>'),
    "sparql-prefix": (
        "@prefix pk:  <https://w3id.org/payerkg/ontology#> .",
        "PREFIX pk: <https://w3id.org/payerkg/ontology#>",
    ),
    "version-directive": ("@prefix pk:", 'VERSION "1.2"\n@prefix pk:'),
    "triple-term": (
        'pk:encounterPayer "medicare" ;',
        'pk:encounterPayer "medicare", <<( <urn:a> <urn:b> <urn:c> )>> ;',
    ),
    "direction-tag": ('"99214"', '"99214"@en--ltr'),
    "iri-with-space": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<urn:payerkg:encounter:iri-with b>"),
    "iri-with-pipe": ("<urn:payerkg:encounter:conforms-plain-turtle>", "<urn:payerkg:encounter:iri-with|b>"),
    "syntax-missing-object": ('pk:encounterPayer "medicare" ;', "pk:encounterPayer ;"),
    "syntax-missing-dot": ('"patient-declines-video" .', '"patient-declines-video"'),
    "syntax-graph-block": (
        "<urn:payerkg:encounter:conforms-plain-turtle>",
        "<urn:g> { <urn:s> <urn:p> <urn:o> } ",
    ),
    "escaped-nul-in-string": ('"medicare"', '"medi\\u0000care"'),
    "escaped-long-nul-in-iri": ("<urn:payerkg:encounter:", "<urn:payerkg:encounter:\\U00000000"),
    "backslash-then-u0000-is-no-nul": ('"medicare"', '"medi\\\\u0000care"'),
    "collection": ('"patient-declines-video" .', '"patient-declines-video" ; pk:modifier ( "93" "95" ) .'),
    "two-encounters": PK
    + '<urn:a> pk:dateOfService "2025-01-01"^^xsd:date . <urn:b> pk:dateOfService "2025-01-01"^^xsd:date .',
    "no-encounter": PK + "<urn:a> pk:code '1' .",
    "empty-document": "",
    "too-many-statements": "\n".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(5001)),
    "too-many-statements-once-deduplicated": "\n".join(f"<urn:s> <urn:p> {i}, 0{i} ." for i in range(2600)),
    "exactly-the-statement-cap": PK
    + "<urn:e> pk:dateOfService '2025-01-01'^^xsd:date ; <urn:p> "
    + ", ".join(str(i) for i in range(4999))
    + " .",
}


READ_BY_RDFLIB = {
    "code-language-tag",
    "direction-tag",
    "datatype-relative",
    "escaped-long-nul-in-iri",
    "iri-with-pipe",
    "iri-with-space",
    "node-empty-prefix-on-base",
    "node-relative-name",
    "node-relative-parent",
    "node-relative-query",
    "syntax-graph-block",
    "syntax-missing-dot",
    "syntax-missing-object",
    "triple-term",
    "version-directive",
}
"""The variants Oxigraph's parser would read otherwise: a syntax error to it, a language tag, a
relative IRI rdflib refuses, RDF 1.2 (read_turtle)."""


def variant(name: str) -> bytes:
    change = VARIANTS[name]
    if isinstance(change, str):
        return change.encode()
    before, after = change
    assert before in EXAMPLE, name
    return EXAMPLE.replace(before, after, 1).encode()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_turtle_rdflib_reads_its_own_way_reads_as_before(
    policy: PolicyGraph, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    old, new, left_to_rdflib = both_paths(variant(name), monkeypatch)
    assert_same(policy, old, new)
    assert left_to_rdflib == (name in READ_BY_RDFLIB)


@pytest.mark.parametrize("levels", [5, 128, 129, 2000])
def test_blank_nodes_nested_past_the_limit_are_too_deep(levels: int) -> None:
    """The documented depth limit (128 levels), where rdflib's parser refused at about 110 with a
    syntax error (Python's recursion limit) and Oxigraph's reads any depth."""
    nested = "[ <urn:p> " * levels + '"x"' + " ]" * levels
    body = PK + f"<urn:e> pk:dateOfService '2025-01-01'^^xsd:date ; <urn:p> {nested} ."
    if levels <= 128:
        assert parse_encounter(body.encode(), TURTLE).id == "urn:e"
    else:
        with pytest.raises(InputError) as refused:
            parse_encounter(body.encode(), TURTLE)
        assert refused.value.code == "too_deep"


def test_a_blank_node_label_never_reaches_a_finding(policy: PolicyGraph) -> None:
    """rdflib's parser gave every blank node a fresh label; so does the Oxigraph path."""
    line = '[ pk:lineNumber 0 ; pk:code "99214" ; pk:modifier "93" ; pk:posCode "10" ; pk:minutes 32 ; '
    line += "pk:units 1 ]"
    assert line in EXAMPLE
    body = EXAMPLE.replace(line, "_:patient-ssn-123456789")
    body += '_:patient-ssn-123456789 pk:lineNumber 0 ; pk:code "99442" ; pk:minutes 32 .\n'  # a deleted code
    encounter = parse_encounter(body.encode(), TURTLE)
    result = validate_encounter(policy, encounter)
    assert result.findings
    assert "123456789" not in json.dumps(result.to_dict())


JSON_LD = "application/ld+json"
LD_OPTIONS = {"documentLoader": load_context}
FORMS = {
    "expanded": lambda doc: jsonld.expand(doc, LD_OPTIONS),
    "compacted": lambda doc: jsonld.compact(jsonld.expand(doc, LD_OPTIONS), CONTEXT_URL, LD_OPTIONS),
    "compacted-inline-context": lambda doc: jsonld.compact(
        jsonld.expand(doc, LD_OPTIONS), context_document(), LD_OPTIONS
    ),
    "flattened": lambda doc: jsonld.flatten(doc, None, LD_OPTIONS),
    "flattened-compacted": lambda doc: jsonld.flatten(doc, CONTEXT_URL, LD_OPTIONS),
}


def both_json_ld_paths(document: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, bool]:
    """The document framed by pyld (as before) and by the path in use: payerkg's compact form, or
    the refusal; and whether the path in use left it to pyld."""

    def framed() -> Any:
        try:
            return encounter_module.framed_encounter(document)
        except InputError as error:
            return f"{error.code}: {error.message} ({error.pointer})"

    with monkeypatch.context() as patch:
        patch.setattr(encounter_module, "compact_form", lambda *_: None)
        old = framed()
    left: list[Any] = []
    read = compact_form

    def recorded(*args: Any) -> Any:
        result = read(*args)
        left.append(result is None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(encounter_module, "compact_form", recorded)
        new = framed()
    return old, new, any(left)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_encounters_as_json_ld_read_as_before(
    policy: PolicyGraph, monkeypatch: pytest.MonkeyPatch, name: str, form: str
) -> None:
    compact = {"@context": CONTEXT_URL, **{k: v for k, v in SHIPPED[name].items() if k != "@context"}}
    document = FORMS[form](compact)
    old, new, left_to_pyld = both_json_ld_paths(document, monkeypatch)
    assert new == old
    assert not left_to_pyld
    body = json.dumps(document).encode()
    assert findings(policy, parse_encounter(body, JSON_LD)) == findings(
        policy, parse_encounter(json.dumps(SHIPPED[name]).encode(), "application/json")
    )


def expanded_example() -> dict[str, Any]:
    compact = {
        "@context": CONTEXT_URL,
        **{k: v for k, v in SHIPPED["encounter.example.json"].items() if k != "@context"},
    }
    document: dict[str, Any] = jsonld.expand(compact, LD_OPTIONS)[0]
    return document


P = "https://w3id.org/payerkg/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"


def changed(**changes: Any) -> Any:
    """The expanded example with some properties replaced (None: removed)."""
    document = expanded_example()
    for key, value in changes.items():
        if value is None:
            document.pop(P + key, None)
        else:
            document[P + key if not key.startswith("@") else key] = value
    return [document]


def line(**changes: Any) -> Any:
    first = dict(expanded_example()[P + "line"][0])
    first.update({P + k: v for k, v in changes.items()})
    return changed(line=[first])


JSON_LD_VARIANTS: dict[str, Any] = {
    "minutes-typed-string": line(minutes=[{"@value": "32", "@type": XSD + "integer"}]),
    "minutes-float": line(minutes=[{"@value": 32.0}]),
    "minutes-huge": line(minutes=[{"@value": 2**60}]),
    "minutes-string": line(minutes=[{"@value": "32"}]),
    "minutes-twice": line(minutes=[{"@value": 32}, {"@value": 33}]),
    "code-number": line(code=[{"@value": 99214}]),
    "code-language": line(code=[{"@value": "99214", "@language": "en"}]),
    "code-typed-token": line(code=[{"@value": "99214", "@type": XSD + "token"}]),
    "code-typed-date": line(code=[{"@value": "2025-01-01", "@type": XSD + "date"}]),
    "modifier-repeated": line(modifier=[{"@value": "93"}, {"@value": "93"}]),
    "modifier-list": line(modifier=[{"@list": [{"@value": "93"}]}]),
    "date-untyped": changed(dateOfService=[{"@value": "2025-05-01"}]),
    "date-typed-compact-iri": changed(dateOfService=[{"@value": "2025-05-01", "@type": "xsd:date"}]),
    "date-twice": changed(
        dateOfService=[
            {"@value": "2025-05-01", "@type": XSD + "date"},
            {"@value": "2025-06-01", "@type": XSD + "date"},
        ]
    ),
    "date-none": changed(dateOfService=None),
    "lines-empty": changed(line=[]),
    "lines-none": changed(line=None),
    "rural-string": changed(patientLocation=[{P + "rural": [{"@value": "false"}]}]),
    "patient-named-by-iri": changed(
        patient=[{"@id": "urn:x:patient", P + "patientStatus": [{"@value": "new"}]}]
    ),
    "patient-shared-blank-node": [
        dict(expanded_example(), **{P + "patient": [{"@id": "_:p"}], P + "practitioner": [{"@id": "_:p"}]}),
        {"@id": "_:p", P + "patientStatus": [{"@value": "new"}]},
    ],
    "typed-node": changed(**{"@type": [P + "Encounter"]}),
    "unknown-property": changed(**{"https://x.test/p": [{"@value": "x"}]}),
    "extra-node": [*changed(), {"@id": "urn:x:other", P + "code": [{"@value": "1"}]}],
    "two-encounters": [*changed(), dict(expanded_example(), **{"@id": "urn:payerkg:encounter:other"})],
    "blank-encounter": changed(**{"@id": "_:e"}),
    "id-relative-name": changed(**{"@id": "visit-17"}),
    "id-relative-path": changed(**{"@id": "a/visit-17"}),
    "id-relative-dots": changed(**{"@id": "./visit-17"}),
    "id-relative-fragment": changed(**{"@id": "#visit-17"}),
    "id-file": changed(**{"@id": "file:///home/biller/visit-17"}),
    "id-under-pk": changed(**{"@id": P + "visit-17"}),
    "id-empty": changed(**{"@id": ""}),
    "named-graph": [{"@id": "urn:g", "@graph": changed()}],
    "graph-at-top": {
        "@context": CONTEXT_URL,
        "@graph": [{k: v for k, v in SHIPPED["encounter.example.json"].items() if k != "@context"}],
    },
    "not-json-ld": [{"@id": 5}],
    # Found by mutating the shipped forms: a processor types a boolean under a coerced term (RDF
    # says "true"^^xsd:date), values and nodes under one property come out of order, and a
    # second node with a date of service makes two encounters.
    "date-boolean-under-the-coerced-term": {
        "@context": CONTEXT_URL,
        **{k: v for k, v in SHIPPED["encounter.example.json"].items() if k != "@context"},
        "date_of_service": True,
    },
    "line-value-before-line-node": changed(line=[{"@value": 1}, *expanded_example()[P + "line"]]),
    "line-value-after-line-node": changed(line=[*expanded_example()[P + "line"], {"@value": 1}]),
    "line-number-before-line-compacted": {
        "@context": CONTEXT_URL,
        **{k: v for k, v in SHIPPED["encounter.example.json"].items() if k != "@context"},
        "lines": [1, *SHIPPED["encounter.example.json"]["lines"]],
    },
    "date-on-the-patient-too": changed(
        patient=[
            {
                P + "patientStatus": [{"@value": "new"}],
                P + "dateOfService": [{"@value": "2025-01-01", "@type": XSD + "date"}],
            }
        ]
    ),
    "no-encounter-node": [{"https://x.test/p": [{"@value": 1}]}],
}


@pytest.mark.parametrize("name", sorted(JSON_LD_VARIANTS))
def test_json_ld_pyld_frames_its_own_way_reads_as_before(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    old, new, _ = both_json_ld_paths(JSON_LD_VARIANTS[name], monkeypatch)
    assert new == old
