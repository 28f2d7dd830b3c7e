"""`import hcpcs`: the annual file's add and termination dates compared with the graph's validity."""

from __future__ import annotations

from datetime import date

import pytest

from payerkg.errors import DataFileError
from payerkg.graph.dataset import load_dataset
from payerkg.importers.hcpcs import compare, read_codes
from payerkg.importers.tables import SourceFile
from tests.importers.conftest import FILES

HCPCS = FILES / "HCPC2025-fixture.xlsx"


def test_continuation_lines_are_skipped() -> None:
    codes = read_codes(SourceFile.read(HCPCS))
    assert [(c.code, c.added, c.terminated, c.row.number) for c in codes] == [
        ("G2012", date(2019, 1, 1), date(2024, 12, 31), 2),
        ("G2252", date(2021, 1, 1), None, 4),
        ("G0071", date(2018, 1, 1), date(2025, 12, 31), 5),
    ]


def test_differences_with_the_graph_name_code_field_and_row() -> None:
    found = {
        (d.code, d.field, d.in_graph, d.in_file, d.row)
        for d in compare(load_dataset(), SourceFile.read(HCPCS))
    }
    # G2012 ends on 2024-12-31 in both; G2252's start agrees; the graph gives no start for G2012.
    assert ("G2012", "validFrom", None, date(2019, 1, 1), 2) in found
    assert not any(code == "G2012" and field == "validThrough" for code, field, *_ in found)
    assert not any(code == "G2252" for code, *_ in found)


def test_a_bad_date_is_named() -> None:
    text = "HCPC,RECID,ADD DT,TERM DT\nG2012,3,2019-13,\n"
    with pytest.raises(DataFileError) as raised:
        read_codes(SourceFile("HCPC.csv", text.encode()))
    assert raised.value.message.startswith("HCPC.csv:2: column ADD DT:")
