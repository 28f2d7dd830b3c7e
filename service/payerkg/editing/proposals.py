"""Proposed rule changes: parsed, checked against the graph they would join, compared by what they
would change, and committed as a new revision only when every check passes.

A change adds new statements (new rules, new versions of existing rules, new sources) or
withdraws an earlier edit (rollback). Existing nodes are never edited: a revised rule gets a new
version node that names the one it revises with ``prov:wasRevisionOf`` (which ends it as a
whole), or supersedes with ``pk:supersedes`` (which ends it only for the new version's codes and
dates).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from payerkg.coverage.answer import CoverageQuestion
from payerkg.coverage.conflicts import GraphConflict, graph_conflicts
from payerkg.editing import revisions
from payerkg.editing.revisions import EDIT_GRAPH, Change, RevisionRecord
from payerkg.editing.what_if import answer_in_words, question_in_words
from payerkg.errors import EditConflict, EditRefused, ParseError, StaleRevision, TooLarge
from payerkg.graph.dataset import PolicyGraph, holds_nul, syntax_error_position
from payerkg.graph.facets import SCOPED, Facet
from payerkg.graph.rules import RuleModel, rule_model, same_value
from payerkg.namespaces import PK, RULE, RV, SRC
from payerkg.stores import Store, new_dataset
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.validation.lint import lint

EDITABLE_NAMESPACES = (str(RULE), str(RV), str(SRC))
MAX_EDIT_TRIPLES = 2_000


@dataclass
class Proposal:
    """A change and what it would do to the graph it is based on."""

    base: PolicyGraph
    proposed: PolicyGraph
    added: Graph | None
    withdraws: int | None
    rules: tuple[URIRef, ...]
    codes: frozenset[URIRef]
    problems: list[str] = field(default_factory=list)
    conflicts: list[GraphConflict] = field(default_factory=list)
    beyond_scope: list[str] = field(default_factory=list)
    """Supersessions not made: each says which older version would stop answering outside the
    new version's situations, and the answers that would change."""

    @property
    def conflict_lines(self) -> list[str]:
        """Each conflict in words, then each supersession that would reach beyond the new version."""
        return [conflict_text(c) for c in self.conflicts] + self.beyond_scope

    def refuse_if_unsafe(self) -> None:
        """Raise if the change breaks a policy shape or a reference, or brings a new conflict."""
        if self.problems:
            raise EditRefused("the change fails the policy checks; nothing was changed", self.problems)
        if self.conflicts:
            raise EditConflict(
                "the change disagrees with an active rule version; mark it as superseding that "
                "version or change it"
                if not self.beyond_scope
                else "superseding would change answers outside the new version's scope; "
                "add versions that cover those situations too, or change it",
                self.conflict_lines,
            )


def parse_rule_turtle(text: str) -> Graph:
    """The statements of a submitted rule document (Turtle); never fetches anything."""
    if "\x00" in text:
        raise ParseError("the rule document contains a NUL character", "rule")
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except BadSyntax as error:
        line, _ = syntax_error_position(text, error)
        raise ParseError(f"Turtle syntax error at line {line}", "rule") from None
    except Exception:  # rdflib raises assorted types on malformed input
        raise ParseError("Turtle syntax error", "rule") from None
    if len(graph) > MAX_EDIT_TRIPLES:
        raise TooLarge(f"a change may hold at most {MAX_EDIT_TRIPLES} statements", "rule")
    if holds_nul(graph):
        raise ParseError("the rule document contains a NUL character (escaped as \\u0000)", "rule")
    return graph


def propose_addition(base: PolicyGraph, submitted: Graph, today: date, supersedes: bool = False) -> Proposal:
    """What adding ``submitted`` would do. Versions without ``pk:knownFrom`` become known today.

    With ``supersedes``, a new version supersedes (``pk:supersedes``) each active version it
    would disagree with: the older version ends only for the new version's codes and dates, and
    keeps answering everywhere else. Where the new version is limited to fewer situations
    (modality, patient setting, ...) than the older one, superseding would also end the older
    version's answers in the situations the new one does not speak to: that supersession is not
    made, and the conflict stays, with the answers it would change listed."""
    added = _normalized(base, submitted, today)
    versions = _versions(added)
    rules = tuple(
        sorted({r for v in versions for r in added.objects(v, PK.versionOf) if isinstance(r, URIRef)})
    )
    codes = _codes(base, (t for v in versions for t in added.objects(v, PK.appliesTo)))
    proposal = _evaluate(base, added, None, rules, codes)
    if supersedes and proposal.conflicts:
        reach: dict[tuple[URIRef, URIRef], list[tuple[Facet, list[Node]]]] = {}
        for conflict in proposal.conflicts:
            first, second = URIRef(conflict.first.rule), URIRef(conflict.second.rule)
            if (first in versions) == (second in versions):
                continue  # two new versions, or none: nothing to supersede
            newer, older = (first, second) if first in versions else (second, first)
            outside = situations_outside(base, added, newer, older)
            if outside:
                reach[(newer, older)] = outside
            else:
                added.add((newer, PK.supersedes, older))
        beyond = [
            _beyond_text(base, added, newer, older, outside) for (newer, older), outside in reach.items()
        ]
        proposal = _evaluate(base, added, None, rules, codes)
        proposal.beyond_scope = beyond
    return proposal


def situations_outside(
    base: PolicyGraph, added: Graph, newer: URIRef, older: URIRef
) -> list[tuple[Facet, list[Node]]]:
    """The situations, facet by facet, that ``older`` speaks to and ``newer`` does not (a version
    without a scope for a facet speaks to each of its values)."""
    model = rule_model(base)
    old = model.terms.statements(older)
    found = []
    for facet in SCOPED:
        assert facet.scope is not None
        new_scope = list(added.objects(newer, facet.scope))
        if not new_scope:
            continue
        old_scope = old.get(facet.scope) or _every_value(model, facet)
        outside = [v for v in old_scope if not any(same_value(v, n) for n in new_scope)]
        if outside:
            found.append((facet, outside))
    return found


def _every_value(model: RuleModel, facet: Facet) -> list[Node]:
    if facet.vocabulary is None:
        return [Literal(True), Literal(False)]
    return sorted(model.vocabulary.by_class.get(facet.vocabulary, {}).values(), key=str)


def _beyond_text(
    base: PolicyGraph, added: Graph, newer: URIRef, older: URIRef, outside: list[tuple[Facet, list[Node]]]
) -> str:
    """Why ``newer`` may not supersede ``older``, with the answers superseding would change:
    questions about the codes both apply to, on the first day both are in force, in the situations
    only ``older`` speaks to."""
    model = rule_model(base)
    terms = model.terms
    situations = "; ".join(f"{facet.words} {terms.words(values)}" for facet, values in outside)
    trial = added + Graph()
    trial.add((newer, PK.supersedes, older))
    after = _scratch(base, trial)
    older_targets = terms.statements(older).get(PK.appliesTo, [])
    shared = sorted(_codes(base, trial.objects(newer, PK.appliesTo)) & _codes(base, older_targets), key=str)
    payer = added.value(newer, PK.payer)
    start = max(_start(added.value(newer, PK.effectiveStart)), _start(terms.first(older, PK.effectiveStart)))
    changed = []
    for facet, values in outside:
        for value in values:
            given: Any = value.toPython() if isinstance(value, Literal) else terms.notation(value)
            for code in shared[:3]:
                question = CoverageQuestion(
                    terms.notation(payer) if payer is not None else "", terms.notation(code), start
                )
                question = dataclasses.replace(question, **{facet.name: given})
                was, will = answer_in_words(base, question), answer_in_words(after, question)
                if was != will:
                    changed.append(f"{question_in_words(question)}: {was} -> {will}")
    return (
        f"{newer} may not supersede {older}: {older} also speaks to {situations}, which {newer} does not, "
        "so superseding would end those answers too"
        + (f"; answers that would change: {'; '.join(changed)}" if changed else "")
    )


def _start(value: Node | str | None) -> date:
    return date.fromisoformat(str(value)) if value is not None else date.min


def _scratch(base: PolicyGraph, added: Graph | None, withdraws: int | None = None) -> PolicyGraph:
    """The graph as it would be, unchecked: in an Oxigraph scratch store, which answers the
    graph-wide queries of the checks fastest. Copied quad for quad from the Oxigraph store the
    base's store holds where it holds one (converting the whole graph from rdflib terms cost more
    than the checks)."""
    source = base.store.oxigraph()
    if source is not None:
        store = source.copy()
    else:
        store = OxigraphStore(None)
        store.load(base.dataset)
    if added is not None:
        store.load(_as_edit_dataset(added))
    if withdraws is not None:
        store.update(f"DROP SILENT GRAPH {EDIT_GRAPH[str(withdraws)].n3()}")
    return PolicyGraph(store, revision="proposed", revision_number=base.revision_number + 1)


def propose_rollback(store: Store, base: PolicyGraph, number: int) -> Proposal:
    """What withdrawing the statements revision ``number`` added would do."""
    record = next((r for r in revisions.log(store) if r.number == number), None)
    if record is None or record.kind != "add" or not record.added:
        raise EditRefused(f"revision {number} added no statements; only edits can be rolled back")
    if any(r.withdraws == number for r in revisions.log(store)):
        raise EditRefused(f"revision {number} was already rolled back")
    withdrawn = Graph().parse(data=record.added, format="nt")
    versions = _versions(withdrawn)
    rules = tuple(URIRef(r) for r in record.rules)
    targets = (t for v in versions for t in withdrawn.objects(v, PK.appliesTo))
    return _evaluate(base, None, number, rules, _codes(base, targets))


def accept(
    store: Store, proposal: Proposal, author: str, role: str, reason: str, base_revision: int
) -> RevisionRecord:
    """Commit a checked proposal as the next revision; stale bases and unsafe changes are refused."""
    if base_revision != proposal.base.revision_number:
        raise StaleRevision(
            f"the change was based on revision {base_revision}, the newest is {proposal.base.revision_number}"
        )
    proposal.refuse_if_unsafe()
    kind = "rollback" if proposal.withdraws is not None else "add"
    change = Change(kind, author, role, reason, proposal.rules, proposal.added, proposal.withdraws)
    return revisions.commit(store, change, base_revision)


def _normalized(base: PolicyGraph, submitted: Graph, today: date) -> Graph:
    """The submitted statements, refused unless they only describe new rules, versions, sources
    and their citations; versions get a known-from and a reviewed-on date if they lack one."""
    if len(submitted) == 0:
        raise EditRefused("the change holds no statements")
    problems = []
    for subject in sorted(set(submitted.subjects()), key=str):
        if not isinstance(subject, URIRef):  # blank nodes: described with their subject
            continue
        if not str(subject).startswith(EDITABLE_NAMESPACES):
            problems.append(f"{subject}: only rules, rule versions and sources can be added")
        elif base.select("term-statements", term=subject):  # a read per subject, not the whole graph
            kind = "versions never change; add a new version that revises it (prov:wasRevisionOf)"
            problems.append(f"{subject}: already in the graph; {kind}")
    versions = _versions(submitted)
    if not versions:
        problems.append("the change adds no rule version (a pk:RuleVersion)")
    if problems:
        raise EditRefused("the change cannot be applied; nothing was changed", problems)
    added = Graph()
    added += submitted
    for version in versions:
        if added.value(version, PK.knownFrom) is None:
            added.add((version, PK.knownFrom, Literal(today)))
        # The editor who submits a version has checked it against its sources today.
        if added.value(version, PK.reviewedOn) is None:
            added.add((version, PK.reviewedOn, Literal(today)))
    return added


def _versions(graph: Graph) -> list[URIRef]:
    return sorted(v for v in graph.subjects(RDF.type, PK.RuleVersion) if isinstance(v, URIRef))


def _codes(base: PolicyGraph, targets: Iterable[Node]) -> frozenset[URIRef]:
    """The procedure codes of what versions apply to (``pk:appliesTo``), code groups expanded."""
    terms = rule_model(base).terms
    codes: set[URIRef] = set()
    for target in targets:
        if isinstance(target, URIRef):
            members = [m for m in terms.statements(target).get(SKOS.member, []) if isinstance(m, URIRef)]
            codes.update(members or [target])
    return frozenset(codes)


def _evaluate(
    base: PolicyGraph,
    added: Graph | None,
    withdraws: int | None,
    rules: tuple[URIRef, ...],
    codes: frozenset[URIRef],
) -> Proposal:
    """Build the graph as it would be and compare its lint problems and conflicts with the base's."""
    proposed = _scratch(base, added, withdraws)
    if added is not None:  # new nodes only: what was already there passed when it was added
        focus = {s for s in added.subjects() if isinstance(s, URIRef)}
        problems = sorted(str(p) for p in lint(proposed, focus))
    else:  # a withdrawal can break what refers to the withdrawn nodes: compare whole graphs
        before = {str(p) for p in lint(base)}
        problems = sorted(str(p) for p in lint(proposed) if str(p) not in before)
    known = {_conflict_key(c) for c in graph_conflicts(base, codes_of=codes)}
    conflicts = [c for c in graph_conflicts(proposed, codes_of=codes) if _conflict_key(c) not in known]
    return Proposal(base, proposed, added, withdraws, rules, codes, problems, conflicts)


def _as_edit_dataset(added: Graph) -> Dataset:
    dataset = new_dataset()
    edit = dataset.graph(EDIT_GRAPH["proposed"])
    edit += added
    return dataset


def _conflict_key(conflict: GraphConflict) -> tuple[str, str, str, str]:
    return (conflict.payer, conflict.topic, conflict.first.rule, conflict.second.rule)


def conflict_text(conflict: GraphConflict) -> str:
    first, second = conflict.first, conflict.second
    return (
        f"{conflict.payer}, {conflict.topic}: {first.rule} says {', '.join(first.says)} "
        f"({first.evidence_level}); {second.rule} says {', '.join(second.says)} ({second.evidence_level}); "
        f"overlap from {conflict.overlap_start}"
    )
