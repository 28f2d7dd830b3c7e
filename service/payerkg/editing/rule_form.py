"""A rule version from a form: the choices the form offers (every one read from the graph and the
facet registry), the submitted values read and checked field by field, and the rule document they
make (Turtle written by rdflib, in the style of ``policies/``).

Submitted text enters the document only as RDF terms (literals, or IRIs of terms the graph holds
or built from checked ids), so no value can add a statement of its own.

>>> read_day("2027-02-30") is None
True
>>> "pk:forModality pk:AudioVideo" in rule_turtle(EXAMPLE)
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD
from rdflib.term import Identifier

from payerkg.errors import InvalidParameter, PayerKGError, UnknownCode, UnknownPayer, UnknownRule
from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.graph.rules import CODE_PATTERN, local_name, rule_model
from payerkg.namespaces import GRP, PAYER, PK, PREFIXES, RULE, RV, SRC

ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
"""Rule and version ids: lower case, digits and hyphens, as the files under ``policies/`` use."""
DAY_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_SHORT = 300
MAX_LONG = 2_000
MAX_CODES = 200
YES_NO = {"yes": True, "no": False}
"""The values of a yes/no facet (one the registry gives no vocabulary)."""


@dataclass(frozen=True)
class Choice:
    """One value a form offers: what the form sends, what it shows, and the term it stands for."""

    value: str
    label: str
    iri: str
    """The term's IRI (a yes/no value: the literal in N-Triples form)."""


@dataclass(frozen=True)
class FacetField:
    """A field for one facet property of the registry: where a version holds, or what it requires."""

    name: str
    facet: str
    label: str
    property: str
    choices: list[Choice]
    yes_no: bool


@dataclass(frozen=True)
class FormChoices:
    """Everything a rule form offers, read from one graph revision."""

    payers: list[Choice]
    code_groups: list[Choice]
    rule_kinds: list[Choice]
    determinations: list[Choice]
    statuses: list[Choice]
    evidence_levels: list[Choice]
    facets: list[FacetField]
    places_of_service: list[Choice]
    modifiers: list[Choice]
    documentation: list[Choice]
    sources: list[Choice]
    source_kinds: list[Choice]


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field, with the API's stable error code."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class NewRule:
    kind: URIRef
    label: str


@dataclass(frozen=True)
class NewSource:
    iri: URIRef
    title: str
    publisher: str | None
    url: str
    accessed: date
    kind: URIRef


@dataclass(frozen=True)
class FormCitation:
    source: URIRef
    quote: str | None
    section: str | None


@dataclass(frozen=True)
class RuleVersionForm:
    """A rule version as a form states it, every value a term or a checked plain value."""

    rule: URIRef
    new_rule: NewRule | None
    """The rule's kind and label when the rule is new (None adds a version to a rule in the graph)."""
    version: URIRef
    label: str
    description: str | None
    payer: URIRef
    applies_to: tuple[URIRef, ...]
    effective_start: date
    effective_end: date | None
    determination: URIRef | None
    statements: tuple[tuple[URIRef, tuple[Identifier, ...]], ...]
    """Scopes and requirements (facets, places of service, modifiers, documentation) by property."""
    status: URIRef
    evidence_level: URIRef
    reviewed_on: date
    citations: tuple[FormCitation, ...]
    new_sources: tuple[NewSource, ...] = ()
    revises: URIRef | None = None


@dataclass(frozen=True)
class FormReading:
    """A submitted form read: the rule version it states, or what is wrong with it by field."""

    form: RuleVersionForm | None
    errors: list[FieldError]


def form_choices(policy: PolicyGraph) -> FormChoices:
    """The choices of a rule form for this revision, read once."""
    return policy.view(_read_choices)


def _read_choices(policy: PolicyGraph) -> FormChoices:
    def members(cls: URIRef, show_id: bool = False) -> list[Choice]:
        found: dict[str, Choice] = {}
        for row in policy.select("class-members", **{"class": cls}):
            term = row["term"]
            if not isinstance(term, URIRef) or str(term) in found:
                continue
            notation = row.get("notation")
            value = str(notation) if notation is not None else local_name(term)
            name = str(row.get("label") or row.get("title") or value)
            label = f"{value}: {name}" if show_id and name != value else name
            found[str(term)] = Choice(value, label, str(term))
        return sorted(found.values(), key=lambda c: (c.label.lower(), c.value))

    facets: list[FacetField] = []
    for facet in FACETS:
        values = members(facet.vocabulary) if facet.vocabulary is not None else _yes_no()
        for kind, prop in (("for", facet.scope), ("requires", facet.requirement)):
            if prop is None:
                continue
            label = (
                f"Applies only when the {facet.words} is"
                if kind == "for"
                else f"Requires the {facet.words} to be"
            )
            facets.append(
                FacetField(
                    f"{kind}_{facet.name}", facet.name, label, str(prop), values, facet.vocabulary is None
                )
            )
    kinds = [
        Choice(local_name(row["term"]), str(row.get("label") or local_name(row["term"])), str(row["term"]))
        for row in policy.select("subclasses", **{"class": PK.Rule})
    ]
    return FormChoices(
        payers=members(PK.Payer, show_id=True),
        code_groups=members(PK.CodeGroup, show_id=True),
        rule_kinds=sorted(set(kinds), key=lambda c: c.label),
        determinations=members(PK.Determination),
        statuses=members(PK.RuleStatus),
        evidence_levels=members(PK.EvidenceLevel),
        facets=facets,
        places_of_service=_by_value(members(PK.PlaceOfServiceCode, show_id=True)),
        modifiers=_by_value(members(PK.Modifier, show_id=True)),
        documentation=members(PK.DocumentationRequirement),
        sources=members(PK.Source, show_id=True),
        source_kinds=members(PK.SourceKind),
    )


def _yes_no() -> list[Choice]:
    return [Choice(word, word, str(Literal(value).n3())) for word, value in YES_NO.items()]


def _by_value(choices: list[Choice]) -> list[Choice]:
    return sorted(choices, key=lambda c: c.value)


class _Reader:
    """Reads a submitted form's values field by field, collecting what is wrong with each."""

    def __init__(self, values: Mapping[str, Sequence[str]]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def fail(self, field: str, error: PayerKGError) -> None:
        self.errors.append(FieldError(field, error.code, error.message))

    def raw(self, name: str) -> str:
        given = self.values.get(name) or [""]
        return given[0].strip()

    def many(self, name: str) -> list[str]:
        return [v.strip() for v in self.values.get(name, []) if v.strip()]

    def text(self, name: str, words: str, required: bool = False, limit: int = MAX_SHORT) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, InvalidParameter(f"give the {words}", name))
            return None
        if len(value) > limit or any(ord(c) < 32 and c not in "\n\r\t" for c in value):
            self.fail(
                name,
                InvalidParameter(f"the {words} must be plain text of at most {limit:,} characters", name),
            )
            return None
        return value.replace("\r\n", "\n")

    def day(self, name: str, words: str, required: bool = False) -> date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, InvalidParameter(f"give the {words} (YYYY-MM-DD)", name))
            return None
        found = read_day(value)
        if found is None:
            self.fail(name, InvalidParameter(f"the {words} must be a date as YYYY-MM-DD", name))
        return found

    def pick(
        self,
        name: str,
        choices: list[Choice],
        words: str,
        required: bool = False,
        error: type[PayerKGError] = InvalidParameter,
    ) -> URIRef | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, InvalidParameter(f"choose the {words}", name))
            return None
        found = _find(choices, value)
        if found is None:
            self.fail(name, error(f"the {words} is not one the graph knows", name))
        return found

    def pick_many(self, name: str, choices: list[Choice], words: str) -> tuple[URIRef, ...]:
        found: list[URIRef] = []
        for value in self.many(name):
            term = _find(choices, value)
            if term is None:
                self.fail(name, InvalidParameter(f"a {words} is not one the graph knows", name))
                return ()
            found.append(term)
        return tuple(dict.fromkeys(found))

    def ident(self, name: str, words: str, required: bool = False) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, InvalidParameter(f"give the {words}", name))
            return None
        if not ID_PATTERN.match(value):
            self.fail(
                name, InvalidParameter(f"the {words} must be lower-case letters, digits and hyphens", name)
            )
            return None
        return value


def _find(choices: list[Choice], value: str) -> URIRef | None:
    return next((URIRef(c.iri) for c in choices if c.value == value), None)


def read_day(value: str) -> date | None:
    """The date written as YYYY-MM-DD, or None."""
    if not DAY_PATTERN.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_url(value: str) -> str | None:
    """An http(s) address with a host and nothing a Turtle IRI or a log could misread, or None.

    >>> read_url("https://www.cms.gov/medicare/coverage/telehealth")
    'https://www.cms.gov/medicare/coverage/telehealth'
    >>> read_url("javascript:alert(1)") is None, read_url("https://a b.example/") is None
    (True, True)
    """
    if len(value) > MAX_LONG or any(ord(c) <= 32 or c in '<>"{}|\\^`' for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.hostname else None


def read_rule_form(policy: PolicyGraph, values: Mapping[str, Sequence[str]], today: date) -> FormReading:
    """The rule version a submitted form states (every choice checked against ``form_choices``),
    or the errors of its fields. ``today`` is the day it counts as reviewed."""
    choices = form_choices(policy)
    read = _Reader(values)

    rule_id = read.ident("rule_id", "rule id", required=True)
    existing = _versions_of(policy, rule_id)
    new_rule: NewRule | None = None
    if rule_id is not None and existing is None:
        kind = read.pick("rule_kind", choices.rule_kinds, "kind of the new rule", required=True)
        rule_label = read.text("rule_label", "label of the new rule", required=True)
        new_rule = NewRule(kind, rule_label) if kind is not None and rule_label is not None else None
    label = read.text("label", "version's label", required=True)
    description = read.text("description", "description", limit=MAX_LONG)

    payer = read.pick("payer", choices.payers, "payer", required=True, error=UnknownPayer)
    groups = read.pick_many("code_groups", choices.code_groups, "code group")
    codes = _codes(policy, read)
    if not groups and not codes and not any(e.field in ("codes", "code_groups") for e in read.errors):
        read.fail("codes", InvalidParameter("give at least one code or code group", "codes"))

    start = read.day("effective_start", "effective start", required=True)
    end = read.day("effective_end", "effective end")
    if start is not None and end is not None and end < start:
        message = "the effective end is before the effective start"
        read.fail("effective_end", InvalidParameter(message, "effective_end"))

    version_id = read.ident("version_id", "version id")
    if version_id is None and not read.raw("version_id") and rule_id is not None and start is not None:
        version_id = f"{rule_id}-{start.isoformat()}"
    if version_id is not None and policy.select("term-statements", term=RV[version_id]):
        message = "a version with this id is already in the graph; give another version id"
        read.fail("version_id", InvalidParameter(message, "version_id"))
    revises: URIRef | None = None
    revised = read.ident("revises", "version it revises")
    if revised is not None:
        if existing is None or revised not in existing:
            read.fail("revises", UnknownRule("the rule has no version with this id", "revises"))
        else:
            revises = RV[revised]

    determination = read.pick("determination", choices.determinations, "determination")
    status = read.pick("status", choices.statuses, "status", required=True)
    evidence = read.pick("evidence_level", choices.evidence_levels, "evidence level", required=True)
    statements = _statements(read, choices)
    citations, new_sources = _citations(policy, read, choices, version_id, today)
    if read.errors:
        return FormReading(None, read.errors)
    assert rule_id and version_id and label and payer and start and status and evidence  # no errors
    form = RuleVersionForm(
        rule=RULE[rule_id],
        new_rule=new_rule,
        version=RV[version_id],
        label=label,
        description=description,
        payer=payer,
        applies_to=(*groups, *codes),
        effective_start=start,
        effective_end=end,
        determination=determination,
        statements=statements,
        status=status,
        evidence_level=evidence,
        reviewed_on=today,
        citations=citations,
        new_sources=new_sources,
        revises=revises,
    )
    return FormReading(form, [])


def _versions_of(policy: PolicyGraph, rule_id: str | None) -> set[str] | None:
    """The ids of the versions of the rule in the graph, or None if the graph has no such rule."""
    if rule_id is None:
        return None
    try:
        return {v.id for v in catalog.rule_history(policy, rule_id).versions}
    except UnknownRule:
        return None


def _statements(read: _Reader, choices: FormChoices) -> tuple[tuple[URIRef, tuple[Identifier, ...]], ...]:
    """The facet scopes and requirements, places of service, modifiers and documentation chosen."""
    statements: list[tuple[URIRef, tuple[Identifier, ...]]] = []
    for field in choices.facets:
        if field.yes_no:
            picked = read.raw(field.name)
            if picked and picked not in YES_NO:
                read.fail(field.name, InvalidParameter(f"the {field.facet} must be yes or no", field.name))
            elif picked:
                statements.append((URIRef(field.property), (Literal(YES_NO[picked]),)))
            continue
        terms = read.pick_many(field.name, field.choices, field.facet.replace("_", " "))
        if terms:
            statements.append((URIRef(field.property), terms))
    # What a claim must carry beyond the facets: (field, property, the values offered).
    for name, prop, offered in (
        ("requires_place_of_service", PK.requiresPlaceOfService, choices.places_of_service),
        ("requires_modifier", PK.requiresModifier, choices.modifiers),
        ("requires_documentation", PK.requiresDocumentation, choices.documentation),
    ):
        terms = read.pick_many(name, offered, name.removeprefix("requires_").replace("_", " "))
        if terms:
            statements.append((prop, terms))
    return tuple(statements)


def _codes(policy: PolicyGraph, read: _Reader) -> tuple[URIRef, ...]:
    """The codes of the ``codes`` field (notations separated by spaces or commas), each in the graph."""
    notations = [n for n in re.split(r"[\s,;]+", read.raw("codes").upper()) if n]
    if len(notations) > MAX_CODES:
        read.fail("codes", InvalidParameter(f"give at most {MAX_CODES} codes (or use a code group)", "codes"))
        return ()
    model = rule_model(policy)
    found: list[URIRef] = []
    for notation in dict.fromkeys(notations):
        if not CODE_PATTERN.match(notation):
            read.fail(
                "codes", InvalidParameter("codes must be CPT or HCPCS codes such as 99213 or G2012", "codes")
            )
            return ()
        code = model.code(notation)
        if code is None:
            read.fail("codes", UnknownCode(f"the graph holds no code {notation}", "codes"))
            return ()
        found.append(code.iri)
    return tuple(found)


def _citations(
    policy: PolicyGraph, read: _Reader, choices: FormChoices, version_id: str | None, today: date
) -> tuple[tuple[FormCitation, ...], tuple[NewSource, ...]]:
    """A citation of a known source and one of a new source (with its URL, title, kind and access
    date); at least one of them."""
    citations: list[FormCitation] = []
    sources: list[NewSource] = []
    known = read.pick("source", choices.sources, "source")
    quote = read.text("source_quote", "quote", limit=MAX_LONG)
    section = read.text("source_section", "section")
    if known is not None:
        citations.append(FormCitation(known, quote, section))
    url_text = read.raw("new_source_url")
    if url_text:
        url = read_url(url_text)
        if url is None:
            read.fail(
                "new_source_url",
                InvalidParameter("the URL must be an http or https address", "new_source_url"),
            )
        title = read.text("new_source_title", "new source's title", required=True)
        publisher = read.text("new_source_publisher", "new source's publisher")
        accessed = read.day("new_source_accessed", "day the new source was read", required=True)
        if accessed is not None and accessed > today:
            read.fail(
                "new_source_accessed",
                InvalidParameter("the access date is in the future", "new_source_accessed"),
            )
        kind = read.pick("new_source_kind", choices.source_kinds, "kind of the new source", required=True)
        new_quote = read.text("new_source_quote", "quote from the new source", limit=MAX_LONG)
        iri = SRC[f"{version_id or 'new'}-source"]
        if policy.select("term-statements", term=iri):
            read.fail(
                "new_source_url",
                InvalidParameter("a source with this version's id is already in the graph", "new_source_url"),
            )
        if url and title and accessed and kind:
            sources.append(NewSource(iri, title, publisher, url, accessed, kind))
            citations.append(FormCitation(iri, new_quote, None))
    elif known is None:
        message = "cite a known source, or give a new source with its URL"
        read.fail("source", InvalidParameter(message, "source"))
    return tuple(citations), tuple(sources)


def rule_turtle(form: RuleVersionForm) -> str:
    """The rule document (Turtle) a form states: the rule if it is new, the version, new sources."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, str(namespace))
    if form.new_rule is not None:
        graph.add((form.rule, RDF.type, form.new_rule.kind))
        graph.add((form.rule, RDFS.label, Literal(form.new_rule.label)))
    version = form.version
    graph.add((version, RDF.type, PK.RuleVersion))
    graph.add((version, PK.versionOf, form.rule))
    graph.add((version, RDFS.label, Literal(form.label)))
    if form.description:
        graph.add((version, DCTERMS.description, Literal(form.description)))
    graph.add((version, PK.payer, form.payer))
    for target in form.applies_to:
        graph.add((version, PK.appliesTo, target))
    graph.add((version, PK.effectiveStart, Literal(form.effective_start)))
    if form.effective_end is not None:
        graph.add((version, PK.effectiveEnd, Literal(form.effective_end)))
    if form.determination is not None:
        graph.add((version, PK.determination, form.determination))
    for prop, values in form.statements:
        for value in values:
            graph.add((version, prop, value))
    if form.revises is not None:
        graph.add((version, PROV.wasRevisionOf, form.revises))
    graph.add((version, PK.status, form.status))
    graph.add((version, PK.reviewedOn, Literal(form.reviewed_on)))
    graph.add((version, PK.evidenceLevel, form.evidence_level))
    for citation in form.citations:
        node = BNode()
        graph.add((version, PK.citation, node))
        graph.add((node, PK.source, citation.source))
        if citation.quote:
            graph.add((node, PK.quote, Literal(citation.quote)))
        if citation.section:
            graph.add((node, PK.section, Literal(citation.section)))
    for source in form.new_sources:
        graph.add((source.iri, RDF.type, PK.Source))
        graph.add((source.iri, DCTERMS.title, Literal(source.title)))
        if source.publisher:
            graph.add((source.iri, DCTERMS.publisher, Literal(source.publisher)))
        graph.add((source.iri, PK.url, Literal(source.url, datatype=XSD.anyURI)))
        graph.add((source.iri, PK.accessed, Literal(source.accessed)))
        graph.add((source.iri, PK.sourceKind, source.kind))
    return graph.serialize(format="turtle")


EXAMPLE = RuleVersionForm(
    rule=RULE["example-uhc-rpm"],
    new_rule=NewRule(PK.CoverageRule, "Example: UHC remote monitoring management"),
    version=RV["example-uhc-rpm-2027-01-01"],
    label="Example: UHC covers RPM management from 2027",
    description=None,
    payer=PAYER["uhc-commercial"],
    applies_to=(GRP["rpm-management"],),
    effective_start=date(2027, 1, 1),
    effective_end=None,
    determination=PK.Covered,
    statements=((PK.forModality, (PK.AudioVideo,)),),
    status=PK.Draft,
    evidence_level=PK.SecondaryOnly,
    reviewed_on=date(2026, 12, 2),
    citations=(FormCitation(SRC["S68"], None, "worked example only"),),
)
"""A form as read, for examples and tests (not a statement of UHC policy)."""
