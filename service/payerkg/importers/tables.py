"""Reading CMS's published files: a ZIP holding XLSX or CSV tables, or the table itself.

Columns are found by their header names, never by position: a layout lists, for each column an
importer reads, the header names CMS has used for it. Title rows above the header are skipped.
A file whose tables carry no header row with every required column is an unknown layout; the
error names the file, and for a malformed row the row and the column (never the cell's value).

>>> normalize_header("Can Audio-only Interaction Meet the Requirements?")
'can audio only interaction meet the requirements'
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from payerkg.errors import DataFileError

HEADER_SEARCH_ROWS = 25  # title rows CMS puts above the header
MAX_FILE_BYTES = 50_000_000
TABLE_SUFFIXES = (".xlsx", ".csv", ".txt")


@dataclass(frozen=True)
class SourceFile:
    """A file as downloaded: its name, its bytes and their SHA-256 (the file's identity)."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise DataFileError(path.name, f"larger than {MAX_FILE_BYTES} bytes")
            return cls(path.name, path.read_bytes())
        except OSError as error:
            raise DataFileError(path.name, f"cannot be read ({error.__class__.__name__})") from None


@dataclass(frozen=True)
class Layout:
    """The columns an importer reads: key -> header names (normalized) CMS has used for it."""

    name: str
    columns: dict[str, tuple[str, ...]]
    required: frozenset[str]

    def match(self, header: list[str]) -> dict[str, int] | None:
        """Column key -> position in ``header``, or None unless every required column is there."""
        names = [normalize_header(h) for h in header]
        found: dict[str, int] = {}
        for key, accepted in self.columns.items():
            for position, name in enumerate(names):
                if name in accepted:
                    found[key] = position
                    break
        return found if self.required <= found.keys() else None

    def header_names(self, key: str) -> str:
        return " / ".join(self.columns[key])


@dataclass(frozen=True)
class Row:
    """One data row: its number in the table (1 = the table's first row) and its cells by key."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Table:
    """The rows of the one table in a file that has ``layout``'s columns."""

    where: str  # the file name, or "archive.zip:member.xlsx"
    header_row: int
    rows: tuple[Row, ...]

    def error(self, row: Row | None, column: str | None, message: str) -> DataFileError:
        """A malformed-row error naming file, row and column."""
        what = f"column {column}: {message}" if column else message
        return DataFileError(self.where, what, row.number if row else None)


def normalize_header(text: str) -> str:
    """Lower case, words only: CMS's headers differ from year to year in case and punctuation."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def read_table(source: SourceFile, layout: Layout) -> Table:
    """The table in ``source`` (ZIP, XLSX or CSV) whose header has ``layout``'s required columns."""
    candidates = list(_tables(source))
    headers_seen: list[str] = []
    for where, raw_rows in candidates:
        for index, raw in enumerate(raw_rows[:HEADER_SEARCH_ROWS]):
            positions = layout.match(raw)
            if positions is None:
                continue
            rows = []
            for number, cells in enumerate(raw_rows[index + 1 :], start=index + 2):
                if not any(c.strip() for c in cells):
                    continue  # blank lines and trailing empty rows of a sheet
                rows.append(Row(number, {key: _cell(cells, pos) for key, pos in positions.items()}))
            return Table(where, index + 1, tuple(rows))
        if raw_rows:
            headers_seen.append(where)
    required = ", ".join(layout.header_names(k) for k in sorted(layout.required))
    looked = f" (tables read: {', '.join(headers_seen)})" if headers_seen else " (no table found)"
    raise DataFileError(
        source.name,
        f"unknown layout: no header row with the columns of the {layout.name} ({required}){looked}",
    )


def _cell(cells: list[str], position: int) -> str:
    return cells[position].strip() if position < len(cells) else ""


def _tables(source: SourceFile) -> Iterator[tuple[str, list[list[str]]]]:
    """(where, rows as strings) for each table in the file: each sheet of a workbook, each CSV."""
    if source.data[:4] == b"PK\x03\x04" and not source.name.lower().endswith(".xlsx"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(source.data))
        except zipfile.BadZipFile:
            raise DataFileError(source.name, "is not a readable ZIP archive") from None
        with archive:
            for member in sorted(archive.namelist()):
                if member.lower().endswith(TABLE_SUFFIXES) and not member.startswith("__MACOSX"):
                    if archive.getinfo(member).file_size > MAX_FILE_BYTES:
                        raise DataFileError(f"{source.name}:{member}", f"larger than {MAX_FILE_BYTES} bytes")
                    inner = SourceFile(member, archive.read(member))
                    for where, rows in _tables(inner):
                        yield f"{source.name}:{where}", rows
        return
    if source.name.lower().endswith(".xlsx"):
        yield from _workbook(source)
    else:
        yield source.name, _csv_rows(source)


def _workbook(source: SourceFile) -> Iterator[tuple[str, list[list[str]]]]:
    try:
        book = load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises assorted types on a damaged workbook
        raise DataFileError(source.name, "is not a readable XLSX workbook") from None
    try:
        for sheet in book.worksheets:
            rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            yield f"{source.name}[{sheet.title}]", rows
    finally:
        book.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "isoformat"):  # datetime cells
        return value.date().isoformat() if callable(value.date) else str(value)
    return str(value)


def _csv_rows(source: SourceFile) -> list[list[str]]:
    try:
        text = source.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = source.data.decode("cp1252", errors="replace")  # CMS's older files are Windows-1252
    if "\x00" in text:
        raise DataFileError(source.name, "holds a NUL character; not a CSV file")
    return [row for row in csv.reader(io.StringIO(text))]
