"""The Medicare Telehealth Services List as CMS publishes it (a ZIP holding XLSX or CSV).

The columns read, by header name: the code ("HCPCS"), its status ("Status": permanent or
provisional; CY 2026 ended the provisional status, so a 2026 or later file may have none), whether
"Can Audio-only Interaction Meet the Requirements?" and the "Medicare Payment Limitations" text
(frequency limits and similar). CMS's short descriptor is never read: CPT descriptors are AMA text.

Per year the import adds rule versions of ``rule:medicare-telehealth-list``: one per status and
audio-only answer, covering the year, each applying to the listed codes the graph holds, with a
citation per row. Listing makes a service eligible for telehealth; whether a claim is covered
still depends on where the patient is and who furnishes it, so each version carries that open
condition.

>>> entry = parse_entry(Row(4, {"code": "99213", "status": "Permanent", "audio_only": "Yes"}), 2025, _T)
>>> (entry.code, entry.status, entry.audio_only)
('99213', 'permanent', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from payerkg.graph.dataset import PolicyGraph
from payerkg.importers.provenance import FileProvenance, ImportPlan, add_rule, known_codes, new_plan
from payerkg.importers.tables import Layout, Row, SourceFile, Table, read_table
from payerkg.namespaces import COND, PAYER, PK, RULE, RV

LAYOUT = Layout(
    "Medicare Telehealth Services List",
    {
        "code": ("hcpcs", "hcpcs code", "code", "cpt hcpcs", "cpt hcpcs code", "hcpcs cpt code"),
        "status": ("status", "list status", "telehealth status", "permanent provisional"),
        "audio_only": (
            "can audio only interaction meet the requirements",
            "audio only",
            "audio only interaction",
        ),
        "limitations": ("medicare payment limitations", "payment limitations"),
    },
    frozenset({"code"}),
)
STATUSES = {"permanent": "permanent", "provisional": "provisional", "temporary": "provisional"}
YES_NO = {"yes": True, "y": True, "no": False, "n": False, "": None}
CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
NO_PROVISIONAL_FROM = 2026  # the CY 2026 PFS final rule ended the provisional status
RULE_IRI = RULE["medicare-telehealth-list"]
DEFAULT_URL = "https://www.cms.gov/medicare/coverage/telehealth/list-services"
_T = Table("example.csv", 3, ())


@dataclass(frozen=True)
class ListEntry:
    """One code on the list for one year."""

    code: str
    status: str
    audio_only: bool | None
    limitations: str | None
    row: Row


def read_list(source: SourceFile, year: int) -> list[ListEntry]:
    """Every code on the list in ``source``; raises DataFileError naming file, row and column."""
    table = read_table(source, LAYOUT)
    if year < NO_PROVISIONAL_FROM and table.rows and "status" not in table.rows[0].cells:
        raise table.error(None, None, f"the CY {year} list has a Status column; none was found")
    entries: dict[str, ListEntry] = {}
    for row in table.rows:
        entry = parse_entry(row, year, table)
        earlier = entries.get(entry.code)
        if earlier is not None and (earlier.status, earlier.audio_only) != (entry.status, entry.audio_only):
            raise table.error(
                row, "HCPCS", f"the code is listed again with another status (row {earlier.row.number})"
            )
        entries.setdefault(entry.code, entry)
    if not entries:
        raise table.error(None, None, "the list holds no codes")
    return list(entries.values())


def parse_entry(row: Row, year: int, table: Table) -> ListEntry:
    code = row.cells["code"].upper()
    if not CODE.match(code):
        raise table.error(row, "HCPCS", "not a CPT or HCPCS code (five characters)")
    status_text = row.cells.get("status", "").lower()
    if not status_text and year >= NO_PROVISIONAL_FROM:
        status = "permanent"
    elif status_text in STATUSES:
        status = STATUSES[status_text]
        if status == "provisional" and year >= NO_PROVISIONAL_FROM:
            raise table.error(row, "Status", f"provisional, but CY {year} lists have no provisional status")
    else:
        raise table.error(row, "Status", "not Permanent or Provisional")
    audio_text = row.cells.get("audio_only", "").lower().rstrip(".*")
    if audio_text not in YES_NO:
        raise table.error(row, "Can Audio-only Interaction Meet the Requirements?", "not Yes or No")
    limitations = row.cells.get("limitations") or None
    return ListEntry(code, status, YES_NO[audio_text], limitations, row)


def plan_import(
    base: PolicyGraph, source: SourceFile, year: int, published: date, read_on: date, url: str = DEFAULT_URL
) -> ImportPlan:
    """The statements the list would add for ``year``, and the listed codes the graph lacks."""
    entries = read_list(source, year)
    provenance = FileProvenance(
        source, f"List of Medicare Telehealth Services, CY {year}", url, published, read_on
    )
    plan = new_plan(base, provenance, [e.code for e in entries])
    if plan.already_imported:
        return plan
    add_rule(plan, base, RULE_IRI, PK.CoverageRule, "Medicare Telehealth Services List")
    codes = known_codes(base)
    groups: dict[tuple[str, bool], list[ListEntry]] = {}
    for entry in entries:
        if entry.code in codes:
            groups.setdefault((entry.status, bool(entry.audio_only)), []).append(entry)
    for (status, audio_only), members in sorted(groups.items()):
        version = RV[
            f"medicare-telehealth-list-{year}-{status}{'-audio-only' if audio_only else ''}"
            f"-{source.sha256[:12]}"
        ]
        _version(plan, version, year, status, audio_only, published, read_on)
        for entry in members:
            plan.added.add((version, PK.appliesTo, codes[entry.code]))
            provenance.cite(plan.added, version, entry.row, f"HCPCS {entry.code}", entry.limitations)
    return plan


def _version(
    plan: ImportPlan,
    version: URIRef,
    year: int,
    status: str,
    audio_only: bool,
    published: date,
    read_on: date,
) -> None:
    g = plan.added
    how = "audio-video or audio only" if audio_only else "audio-video"
    g.add((version, RDF.type, PK.RuleVersion))
    g.add((version, PK.versionOf, RULE_IRI))
    g.add(
        (
            version,
            RDFS.label,
            Literal(f"On the CY {year} Medicare Telehealth Services List ({status}; {how})"),
        )
    )
    g.add(
        (
            version,
            DCTERMS.description,
            Literal(
                f"CMS's CY {year} list names these codes as Medicare telehealth services with {status} "
                f"status{'; audio-only interaction can meet the requirements' if audio_only else ''}. "
                "Whether a claim is covered also depends on the patient's location and the practitioner "
                "on the date of service."
            ),
        )
    )
    g.add((version, PK.payer, PAYER.medicare))
    g.add((version, PK.forModality, PK.AudioVideo))
    if audio_only:
        g.add((version, PK.forModality, PK.AudioOnly))
    g.add((version, PK.effectiveStart, Literal(date(year, 1, 1))))
    g.add((version, PK.effectiveEnd, Literal(date(year, 12, 31))))
    g.add((version, PK.knownFrom, Literal(published)))
    g.add((version, PK.determination, PK.Covered))
    g.add((version, PK.condition, COND["medicare-telehealth-site-and-practitioner"]))
    g.add((version, PK.telehealthListStatus, Literal(status)))
    g.add((version, PK.status, PK.Active))
    g.add((version, PK.reviewedOn, Literal(read_on)))
    g.add((version, PK.evidenceLevel, PK.Confirmed))
