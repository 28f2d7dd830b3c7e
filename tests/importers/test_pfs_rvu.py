"""`import pfs-rvu`: status indicators per code become recognition rule versions citing the file;
status I makes a code not recognized, as Medicare's refusal of 98000-98015 is a fact with a source."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Literal

from payerkg.coverage.answer import CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.errors import DataFileError
from payerkg.importers.pfs_rvu import read_statuses
from payerkg.importers.run import import_file
from payerkg.importers.tables import SourceFile
from payerkg.namespaces import CPT, PK, RV
from payerkg.stores import Store
from tests.importers.conftest import FILES

PPRRVU = FILES / "PPRRVU25-fixture.csv"


def test_rows_with_a_modifier_are_not_a_codes_status() -> None:
    statuses = read_statuses(SourceFile.read(PPRRVU))
    assert sorted((code, status, row.number) for code, status, row in statuses) == [
        ("98005", "I", 4),
        ("98006", "I", 5),
        ("98016", "A", 6),
        ("99213", "A", 7),
    ]


def test_status_i_is_not_recognized_and_cites_the_row(store: Store) -> None:
    source = SourceFile.read(PPRRVU)
    outcome = import_file(store, "pfs-rvu", source, 2025, date(2024, 11, 1), date(2026, 12, 2))
    assert outcome.record is not None
    policy = revisions.policy_at_head(store)
    version = RV[f"medicare-pfs-status-i-2025-{source.sha256[:12]}"]
    assert policy.dataset.value(version, PK.recognized) == Literal(False)
    assert set(policy.dataset.objects(version, PK.appliesTo)) == {CPT["98005"], CPT["98006"]}
    answer = coverage(policy, CoverageQuestion("medicare", "98005", date(2025, 6, 1)), date(2026, 12, 2))
    assert answer.determination == "not-covered"
    assert str(version) in answer.rules


def test_unknown_status_indicator_is_named() -> None:
    text = "HCPCS,MOD,DESCRIPTION,STATUS CODE\n99213,,,Q\n"
    with pytest.raises(DataFileError) as raised:
        read_statuses(SourceFile("PPRRVU.csv", text.encode()))
    assert raised.value.message.startswith("PPRRVU.csv:2: column STATUS CODE:")
