"""`payerkg import ...`: load CMS's published files into the configured store, one revision each.

Exit codes: 0 imported (or nothing to do), 1 the change fails a check or the HCPCS file disagrees
with the graph, 2 bad input (unreadable file, unknown layout, malformed row).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from payerkg.cli.common import current_policy, fail, parse_date
from payerkg.errors import DataFileError, EditRefused, PayerKGError
from payerkg.settings import Settings

if TYPE_CHECKING:  # the importers (and their spreadsheet reader) load when a command runs
    from payerkg.importers.run import Kind

import_app = typer.Typer(help="Import CMS's published files (the telehealth list, PPRRVU, HCPCS).")

FileArg = Annotated[Path, typer.Argument(help="The file as downloaded from CMS: ZIP, XLSX or CSV")]
YearOpt = Annotated[int, typer.Option(help="The calendar year the file is for", min=2000, max=2100)]
PublishedOpt = Annotated[str, typer.Option(help="The date CMS published the file, YYYY-MM-DD")]
UrlOpt = Annotated[str | None, typer.Option(help="Where the file was downloaded (default: CMS's page)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would be added; change nothing")]


@import_app.command("cms-telehealth-list")
def cms_telehealth_list(
    file: FileArg, year: YearOpt, published: PublishedOpt, url: UrlOpt = None, dry_run: DryRunOpt = False
) -> None:
    """The Medicare Telehealth Services List for one year: codes, status and audio-only answers."""
    _import("cms-telehealth-list", file, year, published, url, dry_run)


@import_app.command("pfs-rvu")
def pfs_rvu(
    file: FileArg, year: YearOpt, published: PublishedOpt, url: UrlOpt = None, dry_run: DryRunOpt = False
) -> None:
    """The national PFS relative value file (PPRRVU): the status indicator of each code."""
    _import("pfs-rvu", file, year, published, url, dry_run)


@import_app.command("hcpcs")
def hcpcs_command(file: FileArg, year: YearOpt) -> None:
    """Compare the HCPCS Level II annual file's add and termination dates with the graph's code
    validity; exit 1 when they differ (code nodes are edited in policies/codes/codes.ttl)."""
    from payerkg.importers import hcpcs
    from payerkg.importers.tables import SourceFile

    try:
        differences = hcpcs.compare(current_policy(Settings()), SourceFile.read(file))
    except PayerKGError as error:
        fail(error.message)
    for d in differences:
        typer.echo(
            f"{file.name}:{d.row}: {d.code} pk:{d.field} graph {d.in_graph or 'none'}, file {d.in_file}"
        )
    typer.echo(f"CY {year}: {len(differences)} difference(s) with the graph's code validity", err=True)
    if differences:
        raise typer.Exit(1)


def _import(kind: Kind, file: Path, year: int, published: str, url: str | None, dry_run: bool) -> None:
    from payerkg.editing import revisions
    from payerkg.editing.proposals import conflict_text
    from payerkg.importers.run import import_file
    from payerkg.importers.tables import SourceFile

    day = parse_date(published, "published")
    assert day is not None
    settings = Settings()
    try:
        store = settings.open_store()
        if revisions.head(store) is None:
            if settings.store != "memory":
                fail("the store holds no revision yet; run `payerkg store seed` first")
            revisions.seed(store, settings.data_dir)
        outcome = import_file(store, kind, SourceFile.read(file), year, day, date.today(), url, dry_run)
    except DataFileError as error:
        fail(error.message)
    except EditRefused as error:
        typer.echo("\n".join(f"refused: {p}" for p in error.problems))
        typer.echo(f"payerkg: {error.message}; nothing was imported", err=True)
        raise typer.Exit(1) from None
    except PayerKGError as error:
        fail(error.message)
    if dry_run and outcome.proposal is not None:
        typer.echo(outcome.diff)
        for problem in outcome.proposal.problems:
            typer.echo(f"refused: {problem}")
        for conflict in outcome.proposal.conflicts:
            typer.echo(f"refused: {conflict_text(conflict)}")
    typer.echo(outcome.summary, err=True)
    if settings.store == "memory" and outcome.record is not None:
        typer.echo("note: the memory store keeps nothing after this command (PAYERKG_STORE)", err=True)
    if outcome.proposal is not None and (outcome.proposal.problems or outcome.proposal.conflicts):
        raise typer.Exit(1)
