"""The national PFS relative value file (PPRRVU) as CMS publishes it (ZIP holding XLSX or CSV).

Read by header name: the code ("HCPCS"), the modifier ("MOD") and the fee schedule status
indicator ("STATUS CODE"); only rows without a modifier give a code's status. The description
column is never read (CPT descriptors are AMA text).

Per year the import adds versions of ``rule:medicare-pfs-status``, one per status indicator,
applying to the codes the graph holds. Status I ("not valid for Medicare purposes") makes the
codes not recognized, which is how Medicare's refusal of a code is a fact with a source; the other
indicators are recorded with their source and decide nothing on their own.

>>> parse_status(Row(12, {"code": "98005", "modifier": "", "status": "I"}), _T)
('98005', 'I')
"""

from __future__ import annotations

import re
from datetime import date

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from payerkg.graph.dataset import PolicyGraph
from payerkg.importers.provenance import FileProvenance, ImportPlan, add_rule, known_codes, new_plan
from payerkg.importers.tables import Layout, Row, SourceFile, Table, read_table
from payerkg.namespaces import PAYER, PK, RULE, RV

LAYOUT = Layout(
    "National Physician Fee Schedule Relative Value File (PPRRVU)",
    {
        "code": ("hcpcs", "hcpcs code", "code"),
        "modifier": ("mod", "modifier"),
        "status": ("status code", "status", "status indicator", "stat"),
    },
    frozenset({"code", "status"}),
)
# The record layout's status indicators (those CMS lists for the fee schedule file).
STATUS_INDICATORS = frozenset("ABCDEFGHIJMNPRTX")
NOT_VALID = "I"
CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
RULE_IRI = RULE["medicare-pfs-status"]
DEFAULT_URL = "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
_T = Table("example.csv", 9, ())


def read_statuses(source: SourceFile) -> list[tuple[str, str, Row]]:
    """(code, status indicator, row) for every code without a modifier; raises DataFileError."""
    table = read_table(source, LAYOUT)
    found: dict[str, tuple[str, str, Row]] = {}
    for row in table.rows:
        if row.cells.get("modifier"):
            continue
        code, status = parse_status(row, table)
        earlier = found.get(code)
        if earlier is not None and earlier[1] != status:
            raise table.error(row, "STATUS CODE", f"the code has another status in row {earlier[2].number}")
        found.setdefault(code, (code, status, row))
    if not found:
        raise table.error(None, None, "the file holds no codes")
    return list(found.values())


def parse_status(row: Row, table: Table) -> tuple[str, str]:
    code = row.cells["code"].upper()
    if not CODE.match(code):
        raise table.error(row, "HCPCS", "not a CPT or HCPCS code (five characters)")
    status = row.cells["status"].upper()
    if status not in STATUS_INDICATORS:
        raise table.error(row, "STATUS CODE", "not a status indicator of the record layout")
    return code, status


def plan_import(
    base: PolicyGraph, source: SourceFile, year: int, published: date, read_on: date, url: str = DEFAULT_URL
) -> ImportPlan:
    """The statements the file would add for ``year``, and the codes the graph lacks."""
    statuses = read_statuses(source)
    provenance = FileProvenance(
        source, f"National Physician Fee Schedule Relative Value File, CY {year}", url, published, read_on
    )
    plan = new_plan(base, provenance, [code for code, _, _ in statuses])
    if plan.already_imported:
        return plan
    add_rule(plan, base, RULE_IRI, PK.RecognitionRule, "Medicare Physician Fee Schedule status indicators")
    codes = known_codes(base)
    by_status: dict[str, list[tuple[str, Row]]] = {}
    for code, status, row in statuses:
        if code in codes:
            by_status.setdefault(status, []).append((code, row))
    for status, members in sorted(by_status.items()):
        version = RV[f"medicare-pfs-status-{status.lower()}-{year}-{source.sha256[:12]}"]
        _version(plan, version, year, status, published, read_on)
        for code, row in members:
            plan.added.add((version, PK.appliesTo, codes[code]))
            provenance.cite(plan.added, version, row, f"HCPCS {code}, status {status}")
    return plan


def _version(
    plan: ImportPlan, version: URIRef, year: int, status: str, published: date, read_on: date
) -> None:
    g = plan.added
    g.add((version, RDF.type, PK.RuleVersion))
    g.add((version, PK.versionOf, RULE_IRI))
    g.add((version, RDFS.label, Literal(f"Medicare fee schedule status {status} in CY {year}")))
    g.add(
        (
            version,
            DCTERMS.description,
            Literal(
                f"CMS's CY {year} relative value file gives these codes status indicator {status}"
                + ("; they are not valid for Medicare purposes." if status == NOT_VALID else ".")
            ),
        )
    )
    g.add((version, PK.payer, PAYER.medicare))
    g.add((version, PK.effectiveStart, Literal(date(year, 1, 1))))
    g.add((version, PK.effectiveEnd, Literal(date(year, 12, 31))))
    g.add((version, PK.knownFrom, Literal(published)))
    g.add((version, PK.statusIndicator, Literal(status)))
    g.add((version, PK.recognized, Literal(status != NOT_VALID)))
    if status == NOT_VALID:
        g.add((version, PK.determination, PK.NotCovered))
    g.add((version, PK.status, PK.Active))
    g.add((version, PK.reviewedOn, Literal(read_on)))
    g.add((version, PK.evidenceLevel, PK.Confirmed))
