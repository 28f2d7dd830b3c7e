"""A state machine of edits on an on-disk store: add, revise, stale edit, failing edit,
conflicting edit and roll back, in any order. After every step: the store holds exactly the
versions the model says, revisions are contiguous, there is one audit record per committed change
(none for refused ones), the chain verifies, and the active graph passes the policy shapes."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from string import Template

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from rdflib import URIRef
from rdflib.namespace import PROV

from payerkg.editing import proposals as editing
from payerkg.editing import revisions
from payerkg.errors import EditConflict, EditRefused, StaleRevision
from payerkg.graph.rules import rule_model
from payerkg.namespaces import PK, RV
from payerkg.stores.oxigraph import OxigraphStore
from payerkg.validation.lint import lint

HERE = Path(__file__).parent
TEMPLATE = Template((HERE / "template-rule.ttl").read_text(encoding="utf-8"))
GROUPS = ("rpm-management", "rtm", "e-visits", "virtual-check-ins", "interprofessional-consults")
TODAY = date(2026, 11, 27)


class EditingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="payerkg-state-"))
        self.store = OxigraphStore(self.folder / "store")
        revisions.seed(self.store)
        self.policy = revisions.policy_at_head(self.store)
        self.shipped = self._versions()
        self.serial = 0
        self.committed = 1  # the seed
        # revision number -> versions it added, for edits still in force
        self.in_force: dict[int, set[URIRef]] = {}
        self.latest_version: dict[str, str] = {}  # rule id -> its newest version id
        self.made_by: dict[int, tuple[str, str | None]] = {}  # revision -> (rule id, version before)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _versions(self) -> set[URIRef]:
        """The rule versions in the store, read by a query: an rdflib copy of the whole graph at
        every step would be a fifth of this test's time."""
        rows = self.policy.select("class-members", **{"class": PK.RuleVersion})
        return {row["term"] for row in rows if isinstance(row["term"], URIRef)}

    def _submit(self, text: str, base: int | None = None) -> revisions.RevisionRecord:
        proposal = editing.propose_addition(self.policy, editing.parse_rule_turtle(text), TODAY)
        base = self.policy.revision_number if base is None else base
        return editing.accept(self.store, proposal, "machine", "editor", "state machine step", base)

    def _committed(self, record: revisions.RevisionRecord, versions: set[URIRef]) -> None:
        self.committed += 1
        assert record.number == self.committed
        self.in_force[record.number] = versions
        self.policy = revisions.policy_at_head(self.store)

    def _new_version(
        self, rule_id: str, group: str, year: int, revises: str | None = None
    ) -> tuple[str, str]:
        """A rule document (new rule or new version of ``rule_id``) and its version id."""
        self.serial += 1
        version = f"{rule_id}-v{self.serial}"
        text = TEMPLATE.substitute(
            rule=rule_id,
            version=version,
            group=group,
            start=f"{year}-01-01",
            revises=f"prov:wasRevisionOf rv:{revises} ;" if revises else "",
            declare="" if revises else f'rule:{rule_id} a pk:CoverageRule ; rdfs:label "Rule {rule_id}" .',
        )
        return text, version

    @rule(group=st.sampled_from(GROUPS), year=st.integers(2027, 2030))
    def add(self, group: str, year: int) -> None:
        rule_id = f"sm-rule-{self.serial}"
        text, version = self._new_version(rule_id, group, year)
        self._committed(self._submit(text), {RV[version]})
        self.made_by[self.committed] = (rule_id, None)
        self.latest_version[rule_id] = version

    @precondition(lambda self: bool(self.latest_version))
    @rule(data=st.data(), group=st.sampled_from(GROUPS))
    def revise(self, data: st.DataObject, group: str) -> None:
        rule_id = data.draw(st.sampled_from(sorted(self.latest_version)))
        before = self.latest_version[rule_id]
        text, version = self._new_version(rule_id, group, 2031, revises=before)
        self._committed(self._submit(text), {RV[version]})
        self.made_by[self.committed] = (rule_id, before)
        self.latest_version[rule_id] = version

    @precondition(lambda self: self.committed > 1)
    @rule(group=st.sampled_from(GROUPS))
    def stale_edit(self, group: str) -> None:
        try:
            text, _ = self._new_version(f"sm-stale-{self.serial}", group, 2027)
            self._submit(text, base=self.policy.revision_number - 1)
        except StaleRevision:
            return
        raise AssertionError("an edit on a stale base was accepted")

    @rule()
    def failing_edit(self) -> None:
        text = (HERE / "refused-no-citation.ttl").read_text(encoding="utf-8")
        try:
            self._submit(text.replace("test-uncited", f"sm-uncited-{self.serial}"))
        except EditRefused as refused:
            assert not isinstance(refused, EditConflict)
            return
        raise AssertionError("an uncited rule was accepted")

    @rule()
    def conflicting_edit(self) -> None:
        self.serial += 1
        text = (HERE / "conflict-uhc-office-pos11-2027.ttl").read_text(encoding="utf-8")
        try:
            self._submit(text.replace("test-uhc-office-pos11", f"sm-conflict-{self.serial}"))
        except EditConflict:
            return
        raise AssertionError("a conflicting rule was accepted")

    @precondition(lambda self: bool(self.in_force))
    @rule(data=st.data())
    def roll_back(self, data: st.DataObject) -> None:
        # An edit whose versions a later version revises stays: withdrawing it would break a reference.
        terms = rule_model(self.policy).terms
        revised = {
            older
            for versions in self.in_force.values()
            for version in versions
            for older in terms.version(version).values(PROV.wasRevisionOf)
        }
        candidates = sorted(n for n, versions in self.in_force.items() if not versions & revised)
        if not candidates:
            return
        number = data.draw(st.sampled_from(candidates))
        proposal = editing.propose_rollback(self.store, self.policy, number)
        record = editing.accept(self.store, proposal, "machine", "admin", "undo", self.policy.revision_number)
        del self.in_force[number]
        self._committed(record, set())
        del self.in_force[record.number]
        rule_id, before = self.made_by.pop(number)
        if before is None:
            del self.latest_version[rule_id]
        else:
            self.latest_version[rule_id] = before

    @invariant()
    def store_equals_model(self) -> None:
        stored = self._versions()
        assert self.shipped <= stored
        assert stored - self.shipped == set().union(*self.in_force.values())

    @invariant()
    def one_record_per_committed_change(self) -> None:
        log = revisions.log(self.store)
        assert [r.number for r in log] == list(range(1, self.committed + 1))
        assert revisions.verify(self.store) == []

    @invariant()
    def active_graph_passes_the_policy_shapes(self) -> None:
        """On the nodes the edits touched (the shipped files are linted by their own tests): each
        version in force and the rule it is a version of."""
        versions = set().union(*self.in_force.values())
        rules = {rule_model(self.policy).terms.version(v).rule for v in versions}
        if versions:
            assert lint(self.policy, focus={*versions, *rules}) == []  # type: ignore[arg-type]


# Each step checks a change for real (policy shapes, conflicts) on an on-disk store: a few
# examples of several steps each; no shrinking, which would take minutes per failure.
EditingMachine.TestCase.settings = settings(
    max_examples=3,
    stateful_step_count=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
TestEditing = EditingMachine.TestCase
