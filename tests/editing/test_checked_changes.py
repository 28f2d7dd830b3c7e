"""A change checked against a revision is kept, so that committing a change just dry-run does
not check it again; a different text, flag or revision is checked anew, and only the newest
PROPOSALS_KEPT are kept. The rule files are data beside this test."""

from __future__ import annotations

from pathlib import Path

import pytest

from payerkg.editing import revisions
from payerkg.errors import EditRefused, ParseError
from payerkg.graph.served import ServedGraph
from payerkg.services import editing
from payerkg.services.editing import PROPOSALS_KEPT, RuleChange
from payerkg.stores import MemoryStore

HERE = Path(__file__).parent
ADD = (HERE / "add-uhc-rpm-2027.ttl").read_text(encoding="utf-8")
OTHER = (HERE / "add-uhc-rtm-2027.ttl").read_text(encoding="utf-8")


@pytest.fixture
def served() -> ServedGraph:
    store = MemoryStore()
    revisions.seed(store)
    return ServedGraph(store, lambda policy: None)


def test_the_same_change_on_the_same_revision_is_checked_once(served: ServedGraph) -> None:
    base = served.current()
    checked = editing.propose(base, ADD)
    assert editing.propose(base, ADD) is checked
    assert editing.propose(base, ADD, supersedes=True) is not checked
    assert editing.propose(base, OTHER) is not checked


def test_a_commit_after_a_dry_run_takes_the_checked_change_and_the_next_revision_checks_anew(
    served: ServedGraph,
) -> None:
    base = served.current()
    dry = editing.dry_run(base, ADD)
    assert dry.would_be_accepted
    checked = editing.propose(base, ADD)
    committed = editing.commit(served, RuleChange(ADD, "test", base.revision_number), "ed", "editor")
    assert committed.revision == base.revision_number + 1
    assert served.current().revision_number == committed.revision
    # On the new revision the same text adds versions that are already there: refused, not reused.
    with pytest.raises(EditRefused):
        editing.propose(served.current(), ADD)
    assert editing.propose(base, ADD) is checked  # the old revision's check is still its own


def test_only_the_newest_checked_changes_are_kept(served: ServedGraph) -> None:
    base = served.current()
    first = editing.propose(base, ADD)
    for year in range(PROPOSALS_KEPT):
        editing.propose(base, OTHER.replace("2027", str(2040 + year)))
    assert editing.propose(base, ADD) is not first


def test_a_change_that_cannot_be_read_is_refused_every_time(served: ServedGraph) -> None:
    broken = (HERE / "refused-syntax-error.ttl").read_text(encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ParseError):
            editing.propose(served.current(), broken)
