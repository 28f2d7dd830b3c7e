"""`import cms-telehealth-list`: the list becomes rule versions in a new revision of a real store,
cites its file row by row, changes nothing the second time and nothing at all when a row is bad."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.errors import DataFileError, EditRefused
from payerkg.importers.cms_telehealth_list import read_list
from payerkg.importers.run import import_file
from payerkg.importers.tables import SourceFile
from payerkg.namespaces import CPT, PK, RV
from payerkg.stores import Store
from tests.importers.conftest import FILES

TODAY = date(2026, 12, 2)
LIST_2025 = FILES / "cms-telehealth-list-2025.csv"


def _import(store: Store, name: str, year: int, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return import_file(
        store,
        "cms-telehealth-list",
        SourceFile.read(FILES / name),
        year,
        date(year - 1, 11, 1),
        TODAY,
        dry_run=dry_run,
    )


def test_import_commits_one_revision_with_the_file_as_reason(store: Store) -> None:
    source = SourceFile.read(LIST_2025)
    outcome = _import(store, LIST_2025.name, 2025)
    assert outcome.record is not None and outcome.record.number == 2
    assert outcome.record.reason == f"import cms-telehealth-list-2025.csv {source.sha256}"
    assert outcome.plan.codes == ("90837", "99213", "99214")
    assert outcome.plan.not_in_graph == ("G9999",)
    log = revisions.log(store)
    assert [r.reason for r in log][-1] == outcome.record.reason and log[-1].author == "payerkg import"

    policy = revisions.policy_at_head(store)
    version = RV[f"medicare-telehealth-list-2025-permanent-audio-only-{source.sha256[:12]}"]
    assert set(policy.dataset.objects(version, PK.appliesTo)) == {CPT["90837"], CPT["99213"], CPT["99214"]}
    assert policy.dataset.value(version, PK.telehealthListStatus) == Literal("permanent")
    # One citation per row, naming the row; the source names file, digest and publication date.
    sections = {
        str(policy.dataset.value(c, PK.section)) for c in policy.dataset.objects(version, PK.citation)
    }
    assert sections == {"row 4: HCPCS 99213", "row 5: HCPCS 99214", "row 6: HCPCS 90837"}
    node = next(policy.dataset.subjects(PK.sha256, Literal(source.sha256)))
    assert policy.dataset.value(node, DCTERMS.identifier) == Literal("cms-telehealth-list-2025.csv")
    assert policy.dataset.value(node, DCTERMS.issued) == Literal(date(2024, 11, 1))


def test_imported_list_answers_coverage_with_its_source(store: Store) -> None:
    _import(store, LIST_2025.name, 2025)
    answer = coverage(
        revisions.policy_at_head(store),
        CoverageQuestion("medicare", "99214", date(2025, 6, 1), modality="audio-only"),
        TODAY,
    )
    assert any("/medicare-telehealth-list-2025-permanent-audio-only-" in r for r in answer.rules)
    assert any(
        c.url == "https://www.cms.gov/medicare/coverage/telehealth/list-services" for c in answer.citations
    )
    assert "medicare-telehealth-site-and-practitioner" in {c.id for c in answer.conditions}


def test_the_same_file_twice_changes_nothing(store: Store) -> None:
    _import(store, LIST_2025.name, 2025)
    again = _import(store, LIST_2025.name, 2025)
    assert again.plan.already_imported and again.record is None
    assert revisions.head(store).number == 2  # type: ignore[union-attr]


def test_dry_run_shows_the_diff_and_writes_nothing(store: Store) -> None:
    outcome = _import(store, LIST_2025.name, 2025, dry_run=True)
    assert outcome.record is None
    assert "+ pk:appliesTo cpt:99213" in outcome.diff
    # The shipped graph holds rule:medicare-telehealth-list: the import adds only a version and its source.
    assert outcome.diff.endswith("2 subject(s) differ: 1 rule version added, 1 source added")
    assert revisions.head(store).number == 1  # type: ignore[union-attr]


def test_malformed_row_names_file_row_and_column_and_imports_nothing(store: Store) -> None:
    with pytest.raises(DataFileError) as raised:
        _import(store, "cms-telehealth-list-malformed.csv", 2025)
    assert raised.value.message.startswith("cms-telehealth-list-malformed.csv:5: column HCPCS:")
    assert revisions.head(store).number == 1  # type: ignore[union-attr]


def test_unknown_layout_imports_nothing(store: Store) -> None:
    with pytest.raises(DataFileError, match="unknown layout"):
        _import(store, "unknown-layout.csv", 2025)
    assert revisions.head(store).number == 1  # type: ignore[union-attr]


def test_cy2026_list_without_status_column_is_permanent() -> None:
    entries = read_list(SourceFile.read(FILES / "cms-telehealth-list-2026.zip"), 2026)
    assert {(e.code, e.status, e.audio_only) for e in entries} == {
        ("99213", "permanent", True),
        ("99214", "permanent", True),
        ("90837", "permanent", True),
        ("98016", "permanent", False),
    }


def test_a_2025_list_needs_its_status_column() -> None:
    with pytest.raises(DataFileError, match="Status column"):
        read_list(SourceFile.read(FILES / "cms-telehealth-list-2026.zip"), 2025)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("99213,x,Provisional,Yes", "Status"),  # no provisional status from CY 2026
        ("99213,x,Permanent,Maybe", "Can Audio-only Interaction Meet the Requirements?"),
        ("99213,x,Pending,Yes", "Status"),
    ],
)
def test_bad_cells_are_named(row: str, column: str) -> None:
    text = f"HCPCS,Short Descriptor,Status,Can Audio-only Interaction Meet the Requirements?\n{row}\n"
    with pytest.raises(DataFileError) as raised:
        read_list(SourceFile("list.csv", text.encode()), 2026)
    assert raised.value.message.startswith(f"list.csv:2: column {column}:")


def test_a_code_listed_twice_with_different_status_is_refused() -> None:
    text = "HCPCS,Status\n99213,Permanent\n99213,Provisional\n"
    with pytest.raises(DataFileError, match=r"list.csv:3: column HCPCS: .*row 2"):
        read_list(SourceFile("list.csv", text.encode()), 2025)


def test_imported_versions_refer_only_to_codes_the_graph_holds(store: Store) -> None:
    outcome = _import(store, "cms-telehealth-list-2026.zip", 2026)
    policy = revisions.policy_at_head(store)
    for version in outcome.plan.versions:
        for code in policy.dataset.objects(version, PK.appliesTo):
            assert isinstance(code, URIRef) and (code, None, None) in policy.dataset


def test_a_list_of_codes_the_graph_lacks_is_refused_and_names_them(store: Store) -> None:
    text = "HCPCS,Status\nG9998,Permanent\nG9999,Provisional\n"
    with pytest.raises(EditRefused) as raised:
        import_file(
            store,
            "cms-telehealth-list",
            SourceFile("list.csv", text.encode()),
            2025,
            date(2024, 11, 1),
            TODAY,
        )
    assert raised.value.problems == ["not in the graph (add to policies/codes/codes.ttl first): G9998, G9999"]
    assert revisions.head(store).number == 1  # type: ignore[union-attr]
