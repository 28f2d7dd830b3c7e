"""The HCPCS Level II annual file (public domain) as CMS publishes it (ZIP holding XLSX or text).

Read by header name: the code ("HCPC"), the record id ("RECID": 3 is a procedure's first record,
4 its continuation lines, 7 and 8 modifiers), the date the code was added ("ADD DT"), the action's
effective date ("ACT EFF DT") and the termination date ("TERM DT"). Dates are YYYYMMDD.

Code validity lives on code nodes, which the editing path does not change (it adds rules,
versions and sources only), so this importer compares: for each code the graph holds, the file's
dates against ``pk:validFrom`` / ``pk:validThrough``. The differences are what an editor carries
into ``policies/codes/codes.ttl``.

>>> parse_date8("20250101")
datetime.date(2025, 1, 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rdflib import Literal

from payerkg.graph.dataset import PolicyGraph
from payerkg.importers.provenance import known_codes
from payerkg.importers.tables import Layout, Row, SourceFile, Table, read_table
from payerkg.namespaces import PK

LAYOUT = Layout(
    "HCPCS Level II annual file",
    {
        "code": ("hcpc", "hcpcs", "hcpcs code"),
        "recid": ("recid", "record id"),
        "added": ("add dt", "add date"),
        "effective": ("act eff dt", "action effective date"),
        "terminated": ("term dt", "termination date"),
    },
    frozenset({"code", "added", "terminated"}),
)
PROCEDURE_RECORD = "3"
CODE = re.compile(r"^[A-Z][0-9]{4}$")


@dataclass(frozen=True)
class CodeDates:
    code: str
    added: date | None
    terminated: date | None
    row: Row


@dataclass(frozen=True)
class ValidityDifference:
    """A code whose dates in the file differ from the graph's."""

    code: str
    field: str  # "validFrom" or "validThrough"
    in_graph: date | None
    in_file: date | None
    row: int


def parse_date8(text: str) -> date | None:
    """A YYYYMMDD date (CMS's format) or None for an empty cell; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError("not a YYYYMMDD date")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def read_codes(source: SourceFile) -> list[CodeDates]:
    """Add and termination dates per procedure code; raises DataFileError naming file, row and column."""
    table = read_table(source, LAYOUT)
    found: list[CodeDates] = []
    for row in table.rows:
        recid = row.cells.get("recid", PROCEDURE_RECORD)
        if recid and recid != PROCEDURE_RECORD:
            continue  # continuation lines and modifiers
        found.append(_parse(row, table))
    if not found:
        raise table.error(None, None, "the file holds no procedure codes")
    return found


def _parse(row: Row, table: Table) -> CodeDates:
    code = row.cells["code"].upper()
    if not CODE.match(code):
        raise table.error(row, "HCPC", "not a HCPCS Level II code (a letter and four digits)")
    dates: dict[str, date | None] = {}
    for key, column in (("added", "ADD DT"), ("terminated", "TERM DT")):
        try:
            dates[key] = parse_date8(row.cells.get(key, ""))
        except ValueError:
            raise table.error(row, column, "not a YYYYMMDD date") from None
    return CodeDates(code, dates["added"], dates["terminated"], row)


def compare(base: PolicyGraph, source: SourceFile) -> list[ValidityDifference]:
    """For the codes the graph holds, where the file's dates differ from the graph's validity."""
    codes = known_codes(base)
    differences = []
    for entry in read_codes(source):
        node = codes.get(entry.code)
        if node is None:
            continue
        for field, in_file in (("validFrom", entry.added), ("validThrough", entry.terminated)):
            value = base.dataset.value(node, PK[field])
            in_graph = value.toPython() if isinstance(value, Literal) else None
            if in_file is not None and in_graph != in_file:
                differences.append(ValidityDifference(entry.code, field, in_graph, in_file, entry.row.number))
    return differences
