"""The rule model: rule versions of one graph revision as every engine reads them.

``rule_model(policy)`` is built once per revision. It holds the candidate index (which rule
versions may govern a payer's code, with the dates that decide when), the controlled vocabularies
of the facets (``graph/facets.py``), and a term reader that reads each term's statements and
citations once. Coverage answers, the shapes derived from rules, conflict detection, the review
list and the catalog all read rules through it.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Identifier, Node

from payerkg.errors import InvalidParameter, UnknownPayer
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS, Facet
from payerkg.graph.queries import Row
from payerkg.namespaces import PK

if TYPE_CHECKING:  # a store read whole has no index: its module is imported by those who build one
    from payerkg.graph.version_index import VersionIndex

CODE_PATTERN = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
PAYER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Billing and recognition rules say how a payer's own claims work: never part of a coverage floor.
CLAIM_MECHANICS = frozenset({PK.BillingRule, PK.RecognitionRule})


@dataclass
class Citation:
    """A source a statement rests on. ``evidence_level`` is the source's own authority (primary,
    secondary quoting primary text, secondary); ``rule_evidence_level`` is the cited rule version's."""

    source: str
    title: str
    url: str
    accessed: str
    evidence_level: str
    rule_evidence_level: str
    rule: str
    published: str | None = None
    section: str | None = None
    quote: str | None = None


@dataclass(frozen=True)
class RuleVersion:
    """One rule version with its statements."""

    iri: URIRef
    statements: dict[URIRef, list[Node]]

    def values(self, prop: URIRef) -> list[Node]:
        return self.statements.get(prop, [])

    def value(self, prop: URIRef) -> Node | None:
        found = self.statements.get(prop)
        return found[0] if found else None

    @property
    def rule(self) -> Node | None:
        return self.value(PK.versionOf)

    @property
    def label(self) -> str:
        return str(self.value(RDFS.label) or self.iri)


@dataclass(frozen=True)
class Candidate:
    """A rule version that may govern a payer's code, with the dates that decide when."""

    iri: URIRef
    start: date
    end: date | None
    known: date | None
    revised_on: tuple[date, ...]

    def governs(self, day: date, as_of: date) -> bool:
        """In force on the date of service, as known on ``as_of`` (not yet revised by then)."""
        return self.start <= day and (self.end is None or day <= self.end) and self.current(as_of)

    def covers(self, start: date, end: date | None) -> bool:
        """In force on every day from ``start`` to ``end`` (None: open-ended)."""
        if start < self.start:
            return False
        return self.end is None or (end is not None and end <= self.end)

    def current(self, as_of: date) -> bool:
        """Known on ``as_of`` and not yet revised by then."""
        return (self.known is None or self.known <= as_of) and not any(r <= as_of for r in self.revised_on)


@dataclass(frozen=True)
class Payer:
    """A payer as a question names it: its IRI and the date its sources are current to."""

    iri: URIRef
    sources_current_to: date | None


@dataclass(frozen=True)
class Code:
    """A procedure code and the dates it is valid in its code system."""

    iri: URIRef
    notation: str
    label: str
    system: URIRef
    category: URIRef | None
    valid_from: date | None
    valid_through: date | None

    def valid_on(self, day: date) -> bool:
        """Whether the code is valid in its code system on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_through is None or self.valid_through >= day
        )


class TermReader:
    """Reads labels, notations, definitions and citations of terms, once each."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.policy = policy
        self.cache: dict[Node, dict[URIRef, list[Node]]] = {}
        self.citation_cache: dict[Node, list[Citation]] = {}

    def preload(self, rows: list[Row]) -> None:
        """Fill the cache from (s, p, o) rows: one bulk query, or one term with its citations."""
        found: dict[Node, dict[URIRef, list[Node]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            found[row["s"]][row["p"]].append(row["o"])
        for term, statements in found.items():
            self.cache[term] = _ordered(statements)

    def statements(self, term: Node) -> dict[URIRef, list[Node]]:
        # The graph of one revision never changes, so what was read once stays true.
        if term not in self.cache:
            # A blank node is never asked for here: it came with its subject's read.
            assert isinstance(term, URIRef), "citations are read with the version that carries them"
            self.preload(self.policy.select("term-statements-with-citations", term=term))
            self.cache.setdefault(term, {})
        return self.cache[term]

    def load(self, terms: list[URIRef]) -> None:
        """Read the terms not read yet in one query (``statements`` reads one at a time)."""
        missing = [term for term in dict.fromkeys(terms) if term not in self.cache]
        if len(missing) > 1:
            self.preload(self.policy.select_each("term-statements-with-citations", "term", missing))
            for term in missing:
                self.cache.setdefault(term, {})

    def version(self, iri: URIRef) -> RuleVersion:
        return RuleVersion(iri, self.statements(iri))

    def first(self, term: Node, prop: URIRef) -> str | None:
        values = self.statements(term).get(prop)
        return str(values[0]) if values else None

    def label(self, term: Node) -> str:
        return self.first(term, RDFS.label) or local_name(term)

    def notation(self, term: Node) -> str:
        return self.first(term, SKOS.notation) or local_name(term)

    def definition_of(self, term: Node) -> str:
        return self.first(term, SKOS.definition) or self.label(term)

    def words(self, values: Iterable[Node]) -> str:
        shown = [
            ("yes" if v.toPython() else "no") if isinstance(v, Literal) else self.label(v) for v in values
        ]
        return " or ".join(sorted(shown))

    def citations(self, version: RuleVersion) -> list[Citation]:
        if version.iri not in self.citation_cache:
            self.citation_cache[version.iri] = self._read_citations(version)
        return list(self.citation_cache[version.iri])

    def _read_citations(self, version: RuleVersion) -> list[Citation]:
        level = version.value(PK.evidenceLevel)
        found = []
        for node in version.values(PK.citation):
            source = self.statements(node).get(PK.source, [None])[0]
            if source is None:
                continue
            found.append(
                self.citation(
                    source,
                    str(version.iri),
                    self.notation(level) if level is not None else "",
                    section=self.first(node, PK.section),
                    quote=self.first(node, PK.quote),
                )
            )
        # By content: blank-node labels differ between stores and loads.
        return sorted(found, key=lambda c: (c.source, c.section or "", c.quote or ""))

    def citation(
        self, source: Node, rule: str, rule_level: str, section: str | None = None, quote: str | None = None
    ) -> Citation:
        """A source as cited by ``rule``: its title, address, dates and its own evidence level."""
        kind = self.statements(source).get(PK.sourceKind)
        return Citation(
            source=str(source),
            title=self.first(source, DCTERMS.title) or "",
            url=self.first(source, PK.url) or "",
            accessed=self.first(source, PK.accessed) or "",
            evidence_level=self.notation(kind[0]) if kind else "",
            rule_evidence_level=rule_level,
            rule=rule,
            published=self.first(source, DCTERMS.date),
            section=section,
            quote=quote,
        )


class Vocabulary:
    """Notation <-> IRI maps of the facets' controlled values, read from the graph."""

    def __init__(self, model: RuleModel) -> None:
        self.by_class: dict[URIRef, dict[str, URIRef]] = {}
        for facet in FACETS:
            if facet.vocabulary is not None:
                rows = model.select_once("controlled-values", **{"class": facet.vocabulary})
                self.by_class[facet.vocabulary] = {str(r["notation"]): r["value"] for r in rows}

    def values(self, facet: Facet) -> list[str]:
        """The notations a facet takes, sorted (empty for a yes/no facet)."""
        return sorted(self.by_class.get(facet.vocabulary, {})) if facet.vocabulary is not None else []

    def fact(self, facet: Facet, given: str | bool) -> Node:
        """What a question states for a facet, as the term rules use; InvalidParameter if unknown."""
        if facet.vocabulary is None:
            return Literal(bool(given))
        try:
            return self.by_class[facet.vocabulary][str(given)]
        except KeyError:
            allowed = ", ".join(self.values(facet))
            raise InvalidParameter(
                f"{facet.words} is not one of the known values ({allowed})", pointer=facet.name
            ) from None


class RuleModel:
    """The rule versions of one graph revision: candidates by (payer, code), their statements,
    payers, codes and vocabularies. Read all at once from a local store, or per (payer, code) when
    first asked from a remote one (whose graph may be too big to read whole)."""

    content_only = True  # shared by graphs of one identity (graph.dataset.SharedViews)

    def __init__(self, policy: PolicyGraph) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        self._selected: dict[tuple[str, frozenset[tuple[str, Identifier]]], list[Row]] = {}
        self._payers: dict[str, Payer] = {}
        self._codes: dict[str, Code | None] = {}
        self._horizons: dict[URIRef, date | None] = {}
        self.index: VersionIndex | None = None
        """A local index of this revision's versions (``use_index``), read instead of the store."""
        self.terms = TermReader(policy)
        if policy.store.bulk_reads:
            # Blank-node citations can only be read together with their subjects.
            self.terms.preload(policy.select("rule-statements"))
        revised: dict[URIRef, set[date]] = defaultdict(set)
        superseded: dict[URIRef, set[URIRef]] = defaultdict(set)
        for row in policy.select("rule-revisions"):
            if row.get("partly") is not None:
                superseded[row["newer"]].add(row["version"])
            else:
                revised[row["version"]].add(row["revisedOn"].toPython())
        self.revised_on: dict[URIRef, tuple[date, ...]] = {v: tuple(sorted(d)) for v, d in revised.items()}
        """For each revised rule version, the days active revisions of it became known (sorted)."""
        self.supersedes: dict[URIRef, frozenset[URIRef]] = {n: frozenset(o) for n, o in superseded.items()}
        """Version -> the versions it ends for its own codes and dates only (pk:supersedes)."""
        self.complete = policy.store.bulk_reads
        self._by_payer_code = (
            _candidates(policy.select("rule-version-index"), self.revised_on) if self.complete else {}
        )
        baselines: dict[URIRef, list[URIRef]] = defaultdict(list)
        for row in policy.select("payer-baselines"):
            baselines[row["payer"]].append(row["baseline"])
        self.baselines: dict[URIRef, list[URIRef]] = dict(baselines)
        floors: dict[URIRef, set[URIRef]] = defaultdict(set)
        for row in policy.select("payer-floor-baselines"):
            floors[row["payer"]].add(row["baseline"])
        self.floors: dict[URIRef, frozenset[URIRef]] = {p: frozenset(b) for p, b in floors.items()}
        """Payer -> the baselines whose rules are only its coverage floor (pk:inheritsCoverageFloorFrom)."""
        self.vocabulary = Vocabulary(self)

    def saved_state(self) -> RuleModelState:
        """What a start-up snapshot keeps: everything read so far, without the graph it came from."""
        with self._lock:
            return RuleModelState(
                selected=dict(self._selected),
                payers=dict(self._payers),
                codes=dict(self._codes),
                horizons=dict(self._horizons),
                terms=dict(self.terms.cache),
                citations=dict(self.terms.citation_cache),
                revised_on=self.revised_on,
                supersedes=self.supersedes,
                complete=self.complete,
                by_payer_code=dict(self._by_payer_code),
                baselines=self.baselines,
                floors=self.floors,
                vocabulary=self.vocabulary.by_class,
            )

    @classmethod
    def restore(cls, policy: PolicyGraph, state: object) -> RuleModel:
        """The rule model of ``policy`` from a saved state of the same revision."""
        assert isinstance(state, RuleModelState)
        model = cls.__new__(cls)
        model.policy = policy
        model._lock = threading.Lock()
        model._selected = state.selected
        model._payers = state.payers
        model._codes = state.codes
        model._horizons = state.horizons
        model.index = None
        model.terms = TermReader(policy)
        model.terms.cache = state.terms
        model.terms.citation_cache = state.citations
        model.revised_on = state.revised_on
        model.supersedes = state.supersedes
        model.complete = state.complete
        model._by_payer_code = state.by_payer_code
        model.baselines = state.baselines
        model.floors = state.floors
        model.vocabulary = Vocabulary.__new__(Vocabulary)
        model.vocabulary.by_class = state.vocabulary
        return model

    def select_once(self, name: str, **bindings: Identifier) -> list[Row]:
        """Rows of a named query, run once per revision and binding (a revision never changes)."""
        key = (name, frozenset(bindings.items()))
        if key not in self._selected:
            self._selected[key] = self.policy.select(name, **bindings)
        return self._selected[key]

    def use_index(self, index: VersionIndex) -> None:
        """Read each (payer, code)'s candidates from ``index`` (this revision's versions, kept
        locally) rather than from the store, whose read visits every version of the payer."""
        self.index = index

    def candidates(self, payer: URIRef, code: URIRef) -> list[Candidate]:
        """The rule versions that may govern a payer's code: its own and its baselines'."""
        found = [c for baseline in self.baselines.get(payer, [payer]) for c in self._own(baseline, code)]
        return sorted(found, key=lambda c: str(c.iri))

    def _own(self, payer: URIRef, code: URIRef) -> list[Candidate]:
        key = (payer, code)
        if not self.complete and key not in self._by_payer_code:
            # Only the dates here: an answer reads the statements of the few versions that govern
            # its date (in one read, ``governing``), not those of every version of the code.
            found = self._indexed(payer, code)
            if found is None:
                rows = self.policy.select("payer-code-index", payer=payer, code=code)
                found = _candidates(rows, self.revised_on).get(key, [])
            with self._lock:
                self._by_payer_code[key] = found
        return self._by_payer_code.get(key, [])

    def _indexed(self, payer: URIRef, code: URIRef) -> list[Candidate] | None:
        """The candidates the local index holds, or None without one (or once its file fails)."""
        index = self.index
        if index is None:
            return None
        targets = [row["target"] for row in self.select_once("code-targets", code=code)]
        versions = index.versions(payer, targets)
        if versions is None:
            self.index = None
            return None
        return [Candidate(v.iri, v.start, v.end, v.known, self.revised_on.get(v.iri, ())) for v in versions]

    def governing(self, payer: URIRef, code: URIRef, day: date, as_of: date) -> list[RuleVersion]:
        """The versions that govern a payer's code on ``day`` as known on ``as_of``. A coverage floor
        passes on what is covered, never how the baseline's claims are billed or which codes it
        recognizes: those are the plan's contract."""
        floor = self.floors.get(payer, frozenset())
        candidates = self.candidates(payer, code)
        ended = self.superseded(candidates, day, day, as_of)
        governing = [c.iri for c in candidates if c.governs(day, as_of) and c.iri not in ended]
        self.terms.load(governing)  # one read for all, where a store is read per question
        versions = [self.terms.version(iri) for iri in governing]
        return [v for v in versions if not (v.value(PK.payer) in floor and self.claim_mechanics(v.rule))]

    def superseded(
        self, candidates: list[Candidate], start: date, end: date | None, as_of: date
    ) -> frozenset[URIRef]:
        """The versions among one payer's ``candidates`` for one code that a version of the same
        list supersedes (``pk:supersedes``) on every day from ``start`` to ``end`` (None: open),
        as known on ``as_of``. A superseding version ends another only for the codes it applies
        to, over its own dates, and for the payers that read it (its own and those inheriting it)."""
        if not self.supersedes:
            return frozenset()
        ended: set[URIRef] = set()
        for c in candidates:
            older = self.supersedes.get(c.iri)
            if older and (c.known is None or c.known <= as_of) and c.covers(start, end):
                ended |= older
        return frozenset(ended)

    def claim_mechanics(self, rule: Node | None) -> bool:
        """Billing and recognition rules: how a payer's own claims work, never part of a coverage floor."""
        return isinstance(rule, URIRef) and bool(
            CLAIM_MECHANICS & set(self.terms.statements(rule).get(RDF.type, []))
        )

    def payer(self, payer_id: str) -> Payer:
        """The payer with this id; InvalidParameter for a malformed id, UnknownPayer if absent.
        The first id not known yet reads every payer, in one query: a question to each of many
        payers on a large store was a query, or a round trip, each."""
        if payer_id not in self._payers:
            if not PAYER_PATTERN.match(payer_id):
                raise InvalidParameter("payer must be a short payer id such as medicare", "payer")
            self._read_payers()
            if payer_id not in self._payers:
                raise UnknownPayer("no payer with this id is in the graph", "payer")
        return self._payers[payer_id]

    def _read_payers(self) -> None:
        for row in self.select_once("payer-by-id"):
            self._payers.setdefault(str(row["id"]), _payer(row))

    def code(self, notation: str) -> Code | None:
        """The code with this notation and its validity dates, or None if the graph has none."""
        if notation not in self._codes:
            rows = self.select_once("code-by-notation", notation=Literal(notation))
            self._codes[notation] = _code(rows[0]) if rows else None
        return self._codes[notation]

    def read_look_ups(self) -> None:
        """Read every payer with its horizon, every code and the statements of every term that the
        rule statements read so far name, in a few queries, for a start-up snapshot to keep: a
        one-shot question then asks the store nothing (on the in-memory store, the first query
        copies the whole graph into Oxigraph, most of such a question's time)."""
        self._read_payers()
        found = {
            row["payer"]: literal_date(row.get("lastChange")) for row in self.policy.select("payer-horizons")
        }
        for payer in self._payers.values():
            self._horizons.setdefault(payer.iri, found.get(payer.iri))
        for row in self.policy.select("code-by-notation"):
            self._codes.setdefault(str(row["notation"]), _code(row))
        named = {
            value
            for statements in list(self.terms.cache.values())
            for values in statements.values()
            for value in values
            if isinstance(value, URIRef)
        }
        self.terms.load(sorted(named))

    def horizon_reached(self, payer: URIRef, code: URIRef, day: date) -> date | None:
        """The payer's horizon (``horizon``) if ``day`` is on or after it, else None. A day before
        the last start or end of a candidate for ``code`` is before the horizon, which then is not
        read: reading it visits every version of the payer (a question's dearest read at 10^7
        statements)."""
        bound = max(
            (d for c in self.candidates(payer, code) for d in (c.start, c.end) if d is not None), default=None
        )
        if bound is not None and day < bound:
            return None
        last = self.horizon(payer)
        return last if last is not None and day >= last else None

    def horizon(self, payer: URIRef) -> date | None:
        """The latest start or end of the payer's rules and its baselines' (the graph's horizon)."""
        days = [d for baseline in self.baselines.get(payer, [payer]) if (d := self._own_horizon(baseline))]
        return max(days, default=None)

    def _own_horizon(self, payer: URIRef) -> date | None:
        if payer not in self._horizons:
            rows = self.policy.select("payer-horizon", payer=payer)
            self._horizons[payer] = literal_date(rows[0].get("lastChange")) if rows else None
        return self._horizons[payer]

    def citations_of(self, subject: URIRef) -> list[Citation]:
        """The citations of a rule version (or a code), with their sources and evidence level."""
        return self.terms.citations(self.terms.version(subject))


@dataclass
class RuleModelState:
    """A rule model as a start-up snapshot keeps it: plain data and RDF terms."""

    selected: dict[tuple[str, frozenset[tuple[str, Identifier]]], list[Row]]
    payers: dict[str, Payer]
    codes: dict[str, Code | None]
    horizons: dict[URIRef, date | None]
    terms: dict[Node, dict[URIRef, list[Node]]]
    citations: dict[Node, list[Citation]]
    revised_on: dict[URIRef, tuple[date, ...]]
    supersedes: dict[URIRef, frozenset[URIRef]]
    complete: bool
    by_payer_code: dict[tuple[URIRef, URIRef], list[Candidate]]
    baselines: dict[URIRef, list[URIRef]]
    floors: dict[URIRef, frozenset[URIRef]]
    vocabulary: dict[URIRef, dict[str, URIRef]]


def rule_model(policy: PolicyGraph) -> RuleModel:
    """The rule model of a revision, built once (``make serve`` builds it at start-up)."""
    return policy.view(RuleModel)


def _payer(row: Row) -> Payer:
    return Payer(row["payer"], literal_date(row.get("sourcesCurrentTo")))


def _code(row: Row) -> Code:
    return Code(
        row["code"],
        str(row["notation"]),
        str(row["label"]),
        row["system"],
        row.get("category"),
        literal_date(row.get("validFrom")),
        literal_date(row.get("validThrough")),
    )


def _candidates(
    rows: list[Row], revised: dict[URIRef, tuple[date, ...]]
) -> dict[tuple[URIRef, URIRef], list[Candidate]]:
    """Rows of rule-version-index.rq as candidates by (payer, code)."""
    dates: dict[URIRef, tuple[date, date | None, date | None]] = {}
    keys: dict[URIRef, set[tuple[URIRef, URIRef]]] = defaultdict(set)
    for row in rows:
        version = row["version"]
        dates[version] = (
            row["start"].toPython(),
            literal_date(row.get("end")),
            literal_date(row.get("known")),
        )
        keys[version].add((row["payer"], row["code"]))
    by_payer_code: dict[tuple[URIRef, URIRef], list[Candidate]] = defaultdict(list)
    for version, version_keys in keys.items():
        candidate = Candidate(version, *dates[version], revised_on=revised.get(version, ()))
        for key in version_keys:
            by_payer_code[key].append(candidate)
    return dict(by_payer_code)


def _ordered(found: dict[URIRef, list[Node]]) -> dict[URIRef, list[Node]]:
    """Values once each (a source is read once per version citing it, a statement once per graph
    holding it) and sorted, so that answers list things in the same order on every run."""
    return {p: v if len(v) == 1 else sorted(dict.fromkeys(v), key=_order) for p, v in found.items()}


def _order(node: Node) -> tuple[str, str]:
    return (type(node).__name__, str(node))


def literal_date(node: Node | None) -> date | None:
    """The date an xsd:date literal holds, or None for anything else (or nothing).

    >>> literal_date(Literal("2025-01-01", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")))
    datetime.date(2025, 1, 1)
    """
    value = node.toPython() if isinstance(node, Literal) else None
    return value if isinstance(value, date) else None


def same_value(a: Node, b: Node) -> bool:
    """Equal terms, comparing literals by value (``true`` and ``"true"^^xsd:boolean``)."""
    if isinstance(a, Literal) and isinstance(b, Literal):
        return bool(a.toPython() == b.toPython())
    return a == b


def local_name(term: Node | str) -> str:
    return re.split(r"[#/]", str(term))[-1]
