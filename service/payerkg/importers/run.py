"""One import from start to end: read the file, plan what it adds, propose it against the store's
newest revision, show the difference, and commit it unless it is a dry run.

Nothing is written when the file is malformed, when the change fails a check, or on a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rdflib import Graph

from payerkg.editing import revisions
from payerkg.editing.diff import diff_graphs, render_text
from payerkg.editing.proposals import Proposal
from payerkg.editing.revisions import RevisionRecord
from payerkg.errors import EditRefused
from payerkg.graph.dataset import PolicyGraph
from payerkg.importers import cms_telehealth_list, pfs_rvu
from payerkg.importers.provenance import ImportPlan, commit, propose
from payerkg.importers.tables import SourceFile
from payerkg.stores import Store

Kind = Literal["cms-telehealth-list", "pfs-rvu"]
Planner = Callable[[PolicyGraph, SourceFile, int, date, date, str], ImportPlan]
PLANNERS: dict[Kind, tuple[Planner, str]] = {
    "cms-telehealth-list": (cms_telehealth_list.plan_import, cms_telehealth_list.DEFAULT_URL),
    "pfs-rvu": (pfs_rvu.plan_import, pfs_rvu.DEFAULT_URL),
}


@dataclass
class ImportOutcome:
    """What an import did, or would do on a dry run."""

    plan: ImportPlan
    diff: str
    proposal: Proposal | None = None
    record: RevisionRecord | None = None

    @property
    def summary(self) -> str:
        plan = self.plan
        name = f"{plan.provenance.file.name} (sha256 {plan.provenance.file.sha256[:12]}...)"
        if plan.already_imported:
            return f"{name}: already imported; nothing changed"
        lines = [f"{name}: {len(plan.codes)} code(s) in the graph, {len(plan.versions)} rule version(s)"]
        if plan.not_in_graph:
            lines.append(
                f"{len(plan.not_in_graph)} code(s) not in the graph, left out (add them to "
                f"policies/codes/codes.ttl first): {', '.join(plan.not_in_graph)}"
            )
        if self.record is not None:
            lines.append(f"committed as revision {self.record.number}: {plan.provenance.reason}")
        else:
            lines.append("dry run: nothing changed")
        return "\n".join(lines)


def import_file(
    store: Store,
    kind: Kind,
    source: SourceFile,
    year: int,
    published: date,
    today: date,
    url: str | None = None,
    dry_run: bool = False,
) -> ImportOutcome:
    """Import ``source`` into ``store`` as one new revision (or show what it would add).

    Raises DataFileError for a malformed file or unknown layout and EditRefused / EditConflict
    when the change fails a check; nothing is written then."""
    planner, default_url = PLANNERS[kind]
    base = revisions.policy_at_head(store)
    plan = planner(base, source, year, published, today, url or default_url)
    if plan.already_imported:
        return ImportOutcome(plan, "no differences")
    if not plan.versions:
        raise EditRefused(
            "none of the file's codes is in the graph; nothing was imported",
            [f"not in the graph (add to policies/codes/codes.ttl first): {', '.join(plan.not_in_graph)}"],
        )
    proposal = propose(base, plan, today)
    diff = render_text(diff_graphs(Graph(), proposal.added if proposal.added is not None else Graph()))
    if dry_run:
        return ImportOutcome(plan, diff, proposal)
    proposal.refuse_if_unsafe()
    return ImportOutcome(plan, diff, proposal, commit(store, proposal, plan))
