"""Reading CMS's files by header name: title rows skipped, columns found in any order, unknown
layouts and malformed files refused with the file (and row and column) named."""

from __future__ import annotations

import io
import zipfile

import pytest

from payerkg.errors import DataFileError
from payerkg.importers.cms_telehealth_list import LAYOUT
from payerkg.importers.tables import SourceFile, read_table
from tests.importers.conftest import FILES


def test_header_found_below_title_rows_and_matched_by_name() -> None:
    text = "Title row\n\nStatus,Medicare Payment Limitations,HCPCS\nPermanent,,99213\n"
    table = read_table(SourceFile("list.csv", text.encode()), LAYOUT)
    assert table.header_row == 3
    assert [(r.number, r.cells["code"], r.cells["status"]) for r in table.rows] == [(4, "99213", "Permanent")]


def test_zip_member_is_named_in_where() -> None:
    table = read_table(SourceFile.read(FILES / "cms-telehealth-list-2026.zip"), LAYOUT)
    assert table.where == "cms-telehealth-list-2026.zip:CY2026-Telehealth-Services-List.xlsx[CY 2026]"
    assert [r.cells["code"] for r in table.rows] == ["99213", "99214", "90837", "98016"]


def test_unknown_layout_names_the_file_and_the_columns_it_needs() -> None:
    with pytest.raises(DataFileError) as raised:
        read_table(SourceFile.read(FILES / "unknown-layout.csv"), LAYOUT)
    assert raised.value.path == "unknown-layout.csv"
    assert "unknown layout" in raised.value.message
    assert "hcpcs" in raised.value.message


def test_a_zip_without_tables_is_an_unknown_layout() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.pdf", b"%PDF-1.4")
    with pytest.raises(DataFileError, match="no table found"):
        read_table(SourceFile("list.zip", buffer.getvalue()), LAYOUT)


def test_a_damaged_workbook_is_refused() -> None:
    with pytest.raises(DataFileError, match="not a readable XLSX workbook"):
        read_table(SourceFile("list.xlsx", b"PK\x03\x04 not really a workbook"), LAYOUT)
