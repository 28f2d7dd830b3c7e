"""Editing as the API and the CLI offer it: check a change and show what it would change, commit
it as a new revision, roll one back, and read revisions, diffs and the audit log; and the rule
document a rule form states (the editor's page builds changes from a form, then checks and
commits them like any other).

A served graph without a store of revisions (a fixed graph) takes no edits: every operation here
that needs revisions says so with ``StoreError``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from rdflib import URIRef

from payerkg.coverage.answer import CoverageQuestion
from payerkg.editing import diff, revisions, rule_form
from payerkg.editing import proposals as editing
from payerkg.editing.diff import DiffView, SubjectView
from payerkg.editing.proposals import Proposal
from payerkg.editing.revisions import AuditedRevision, RevisionSummary
from payerkg.editing.rule_form import FieldError, FormChoices
from payerkg.editing.what_if import VerdictChange, sample_encounters, sample_questions, what_if
from payerkg.errors import StoreError, UnknownRevision
from payerkg.graph import catalog
from payerkg.graph.catalog import RuleVersionInfo
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.served import ServedGraph
from payerkg.validation.encounter import Encounter


@dataclass(frozen=True)
class RuleChange:
    """A proposed change: a rule document (Turtle) with what the audit log records."""

    rule: str
    reason: str
    base_revision: int
    supersedes: bool = False


@dataclass(frozen=True)
class DryRun:
    """What a change would do, without applying it."""

    base_revision: int
    would_be_accepted: bool
    problems: list[str]
    conflicts: list[str]
    warnings: list[str]
    """Changed answers outside every new version's scope, and answers as known on past days that
    change (a backdated pk:knownFrom): accepted, but to be looked at."""
    rules: list[str]
    changes: list[VerdictChange]


@dataclass(frozen=True)
class Committed:
    """An accepted change: the revision it made and its audit record."""

    revision: int
    graph_revision: str
    record: AuditedRevision


@dataclass(frozen=True)
class RuleHistory:
    """A rule, every version of it oldest known first, and the revisions that touched it."""

    rule: str
    versions: list[RuleVersionInfo]
    revisions: list[AuditedRevision | RevisionSummary]


@dataclass(frozen=True)
class RuleRevision:
    """A revision that touched a rule, and what it did to the rule's statements (its versions and
    their citations) compared with the revision before it."""

    record: AuditedRevision | RevisionSummary
    diff: DiffView
    text: str


RULE_REVISIONS = 20
"""How many of a rule's revisions ``rule_revisions`` compares, newest first."""


class RevisionDiff(BaseModel):
    """What changed between two revisions, per rule, as text and as data (``from`` and ``to`` are
    its JSON names)."""

    model_config = ConfigDict(populate_by_name=True)

    from_revision: int = Field(alias="from")
    to_revision: int = Field(alias="to")
    text: str
    prefixes: dict[str, str]
    subjects: list[SubjectView]


@dataclass(frozen=True)
class AuditCheck:
    intact: bool
    problems: list[str]


@dataclass(frozen=True)
class FormDraft:
    """A rule form read: the rule document (Turtle) it states, or what is wrong with its fields."""

    rule: str | None
    errors: list[FieldError]


def rule_form_choices(policy: PolicyGraph) -> FormChoices:
    """What a rule form offers: payers, code groups, each facet's values, places of service,
    modifiers, documentation, sources and the vocabularies of a version, all from the graph."""
    return rule_form.form_choices(policy)


def rule_from_form(policy: PolicyGraph, values: Mapping[str, Sequence[str]]) -> FormDraft:
    """The rule document a submitted rule form states, reviewed today, or its fields' errors."""
    reading = rule_form.read_rule_form(policy, values, date.today())
    if reading.form is None:
        return FormDraft(None, reading.errors)
    return FormDraft(rule_form.rule_turtle(reading.form), [])


PROPOSALS_KEPT = 1
"""Changes kept checked per revision. An editor dry-runs a change, then commits the same text:
the same text checked against the same revision on the same day is the same proposal, so the
commit reuses it instead of checking it again (most of a commit's time). A dry run's proposal
holds a scratch copy of the graph and the views built on it, about 30 MB: one is kept."""


class _CheckedChanges:
    """The changes checked against one revision, the newest last (a per-revision view)."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.lock = threading.Lock()
        self.proposals: OrderedDict[tuple[str, bool, date], Proposal] = OrderedDict()


def propose(base: PolicyGraph, rule_text: str, supersedes: bool = False) -> Proposal:
    """A change parsed and checked against ``base``: its problems and conflicts, nothing applied.
    Kept once checked (``PROPOSALS_KEPT``); a change that cannot be read raises and is not kept."""
    today = date.today()
    key = (rule_text, supersedes, today)
    checked = base.view(_CheckedChanges)
    with checked.lock:
        kept = checked.proposals.get(key)
    if kept is not None:
        return kept
    proposal = editing.propose_addition(base, editing.parse_rule_turtle(rule_text), today, supersedes)
    with checked.lock:
        checked.proposals[key] = proposal
        while len(checked.proposals) > PROPOSALS_KEPT:
            checked.proposals.popitem(last=False)
    return proposal


def dry_run(
    base: PolicyGraph,
    rule_text: str,
    supersedes: bool = False,
    encounters: list[Encounter] | None = None,
    questions: list[tuple[str, CoverageQuestion]] | None = None,
) -> DryRun:
    """Check a change and list the sample verdicts and answers it would change (by default the
    cases shipped beside the rules)."""
    proposal = propose(base, rule_text, supersedes)
    changes = what_if(
        proposal.base,
        proposal.proposed,
        encounters if encounters is not None else sample_encounters(),
        questions if questions is not None else sample_questions(),
        proposal.added,
        date.today(),
    )
    conflicts = proposal.conflict_lines
    return DryRun(
        base_revision=proposal.base.revision_number,
        would_be_accepted=not proposal.problems and not conflicts,
        problems=list(proposal.problems),
        conflicts=conflicts,
        warnings=[c.warning for c in changes if c.warning],
        rules=[str(r) for r in proposal.rules],
        changes=changes,
    )


def commit(served: ServedGraph, change: RuleChange, author: str, role: str) -> Committed:
    """Check and store a change as a new revision (``StaleRevision`` if ``base_revision`` is not
    the newest), then serve it."""
    if change.base_revision > editable(served).current().revision_number:  # another replica moved on
        served.reload()
    proposal = propose(served.current(), change.rule, change.supersedes)
    record = editing.accept(served.store, proposal, author, role, change.reason, change.base_revision)
    return _committed(served, record)


def roll_back(
    served: ServedGraph, number: int, author: str, role: str, reason: str, base_revision: int
) -> Committed:
    """A new revision without the statements revision ``number`` added; the history keeps both."""
    store = editable(served).store
    proposal = editing.propose_rollback(store, served.current(), number)
    record = editing.accept(store, proposal, author, role, reason, base_revision)
    return _committed(served, record)


def revision_log(served: ServedGraph, audit: bool) -> list[AuditedRevision | RevisionSummary]:
    """Every revision, oldest first; author, role and reason only with ``audit``."""
    return [record.view(audit) for record in revisions.log(editable(served).store)]


def revision(served: ServedGraph, number: int, audit: bool) -> AuditedRevision | RevisionSummary:
    for record in revisions.log(editable(served).store):
        if record.number == number:
            return record.view(audit)
    raise UnknownRevision(f"there is no revision {number}", "number")


def audit_log(served: ServedGraph) -> list[AuditedRevision]:
    return [_audited(record) for record in revisions.log(editable(served).store)]


def verify_audit(served: ServedGraph) -> AuditCheck:
    problems = revisions.verify(editable(served).store)
    return AuditCheck(not problems, problems)


def rule_history(served: ServedGraph, rule_id: str, audit: bool) -> RuleHistory:
    """A rule's versions with the revisions that added or withdrew them (a fixed graph has none)."""
    found = catalog.rule_history(served.current(), rule_id)
    records = revisions.log(served.store) if served.editable else []
    touched = [record.view(audit) for record in records if found.rule in record.rules]
    return RuleHistory(found.rule, found.versions, touched)


def rule_revisions(
    served: ServedGraph, rule: str, audit: bool, limit: int = RULE_REVISIONS
) -> list[RuleRevision]:
    """The newest ``limit`` revisions that touched a rule (its IRI, as ``rule_history`` gives it),
    newest first, each with the diff of the rule's statements from the revision before it; author,
    role and reason only with ``audit``. A fixed graph, or a rule nobody edited since the files
    were loaded, has none."""
    if not served.editable:
        return []
    records = revisions.log(served.store)
    touched = [record for record in records if rule in record.rules][-limit:]
    if not touched:
        return []
    views = revisions.GraphViews(served.store, records)
    found = []
    for record in reversed(touched):
        changed = diff.rule_diff(views.at(record.number - 1), views.at(record.number), URIRef(rule))
        found.append(RuleRevision(record.view(audit), changed.view(), diff.render_text(changed)))
    return found


def revision_diff(served: ServedGraph, from_revision: int, to_revision: int) -> RevisionDiff:
    store = editable(served).store
    found = diff.diff_graphs(revisions.graph_at(store, from_revision), revisions.graph_at(store, to_revision))
    view = found.view()
    return RevisionDiff.model_validate(
        {
            "from": from_revision,
            "to": to_revision,
            "text": diff.render_text(found),
            "prefixes": view.prefixes,
            "subjects": view.subjects,
        }
    )


def revision_diff_for_payers(
    served: ServedGraph, from_revision: int, to_revision: int, payers: Collection[str] | None
) -> RevisionDiff:
    """``revision_diff`` narrowed to the subjects of the given payers' rules (by the newer
    revision's rule versions; a subject no rule version of either revision names is kept)."""
    found = revision_diff(served, from_revision, to_revision)
    if payers is None:
        return found
    owners: dict[str, str] = {}
    for number in (to_revision, from_revision):
        for version in catalog.rule_versions(served.at_revision(str(number))[0]):
            owners.setdefault(version.iri, version.payer)
            owners.setdefault(version.rule, version.payer)

    def owner(term: str | None) -> str | None:
        prefix, _, local = (term or "").partition(":")  # subjects are written as prefixed names
        return owners.get(found.prefixes.get(prefix, prefix + ":") + local)

    kept = [s for s in found.subjects if (owner(s.rule) or owner(s.subject)) in (*payers, None)]
    return found.model_copy(update={"subjects": kept})


def editable(served: ServedGraph) -> ServedGraph:
    if not served.editable:
        raise StoreError("this service serves a fixed graph without revisions; editing is off")
    return served


def _committed(served: ServedGraph, record: revisions.RevisionRecord) -> Committed:
    policy = served.reload()
    return Committed(record.number, policy.revision, _audited(record))


def _audited(record: revisions.RevisionRecord) -> AuditedRevision:
    shown = record.view(audit=True)
    assert isinstance(shown, AuditedRevision)
    return shown
