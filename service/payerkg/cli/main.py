"""payerkg command line. Exit codes: 0 success, 1 problems found, 2 bad input."""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.main import get_command_name
from typer.models import CommandInfo

from payerkg.cli.common import current_policy, fail, parse_date, served_graph
from payerkg.errors import PayerKGError, StoreError
from payerkg.graph.facets import by_name
from payerkg.media import FHIR_JSON
from payerkg.services import startup
from payerkg.settings import Settings

# The services, engines and formats are imported by the commands that use them: a one-shot
# `payerkg coverage` loads no validation engine, FHIR model, X12 reader or web framework.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from payerkg.coverage.answer import CoverageAnswer, Item
    from payerkg.graph.dataset import PolicyGraph
    from payerkg.validation.formats.mapped import ClaimVerdict, MappedResult
    from payerkg.validation.validate import ValidationResult

_app = typer.Typer(
    help="payerkg: payer telehealth rules as a dated, cited knowledge graph.",
    no_args_is_help=True,
    add_completion=False,
)
"""The commands defined here; ``command_line`` adds those of the other modules (``ELSEWHERE``)."""


@_app.callback()
def check_settings() -> None:
    """payerkg: payer telehealth rules as a dated, cited knowledge graph."""
    startup.tune_collector()
    try:  # a bad PAYERKG_* variable is a message and exit 2 before any command reads settings
        Settings()
    except PayerKGError as error:
        fail(error.message)


@_app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Extra rule files; default: the shipped data")
    ] = None,
) -> None:
    """Check the policy graph (and extra rule files) against the policy shapes."""
    from payerkg.validation.lint import lint_files

    try:
        problems = lint_files(paths or [], Settings().data_dir)
    except PayerKGError as error:
        fail(error.message)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo("policy graph is clean", err=True)


def _facet_help(name: str) -> str:
    return f"The {by_name(name).words}, as `payerkg values` lists the graph's values"


@_app.command()
def values(output: Annotated[str, typer.Option("--format", help="text or json")] = "text") -> None:
    """The values each facet of a coverage question takes, as the graph's vocabularies define them."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    from payerkg.services import coverage

    known = coverage.facet_values(current_policy(Settings()))
    if output == "json":
        typer.echo(json.dumps(known, indent=2))
        return
    for name, shown in known.items():
        typer.echo(f"--{name.replace('_', '-')}: {', '.join(shown)}")


@_app.command("coverage")
def coverage_command(
    code: Annotated[str, typer.Option(help="CPT or HCPCS code")],
    date_of_service: Annotated[str, typer.Option("--date", help="Date of service, YYYY-MM-DD")],
    payer: Annotated[str | None, typer.Option(help="Payer id, e.g. medicare (or give --state)")] = None,
    state: Annotated[
        str | None,
        typer.Option(
            help="A state's postal code, e.g. TX: a fully insured plan there, answered from its law"
        ),
    ] = None,
    modality: Annotated[str | None, typer.Option(help=_facet_help("modality"))] = None,
    patient_status: Annotated[str | None, typer.Option(help=_facet_help("patient_status"))] = None,
    patient_location: Annotated[str | None, typer.Option(help=_facet_help("patient_location"))] = None,
    rural: Annotated[
        bool | None, typer.Option("--rural/--not-rural", help="Patient site rural as the law defines it")
    ] = None,
    aco_assigned: Annotated[
        bool | None,
        typer.Option("--aco/--not-aco", help="Patient assigned to a Shared Savings Program ACO (waiver)"),
    ] = None,
    practitioner_type: Annotated[str | None, typer.Option(help=_facet_help("practitioner_type"))] = None,
    purpose: Annotated[str | None, typer.Option(help=_facet_help("purpose"))] = None,
    as_of: Annotated[str | None, typer.Option(help="Answer with what was known on this date")] = None,
    at_revision: Annotated[
        str | None,
        typer.Option(
            help="Answer exactly as the graph did at this revision of the store (a number), or at the "
            "revision in force on a date (YYYY-MM-DD, which is then the as-of date too)"
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """What a payer requires for a code on a date of service, and why."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    from payerkg.coverage.answer import CoverageQuestion
    from payerkg.services import coverage

    try:
        policy = current_policy(Settings())
        question = CoverageQuestion(
            payer=coverage.payer_for(policy, payer, state),
            code=code,
            date_of_service=parse_date(date_of_service, "date"),  # type: ignore[arg-type]
            modality=modality,
            patient_status=patient_status,
            patient_location=patient_location,
            rural=rural,
            aco_assigned=aco_assigned,
            practitioner_type=practitioner_type,
            purpose=purpose,
            as_of=parse_date(as_of, "as-of"),
        )
        if at_revision is None:
            answer = coverage.ask(policy, question)
        else:
            answer = coverage.ask_at_revision(served_graph(Settings()), question, at_revision)
    except PayerKGError as error:
        fail(error.message)
    if output == "json":
        typer.echo(json.dumps(asdict(answer), indent=2))
    else:
        typer.echo(render_text(answer))


BILLING_WORDS = {
    "place_of_service_required": "place of service, one of",
    "place_of_service_forbidden": "place of service, not",
    "modifiers_required_one_of": "modifier, one of",
    "modifiers_allowed": "modifiers allowed",
    "modifiers_forbidden": "modifiers, not",
    "rate_basis": "rate basis",
    "bill_instead": "bill instead",
}


def render_text(answer: CoverageAnswer) -> str:
    """A short verdict for a person: determination, why, what to bill, what to document, sources."""
    lines = [
        f"{answer.payer} {answer.code} on {answer.date_of_service}: {answer.determination.upper()}",
        f"  {answer.summary}",
    ]

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.append(f"{title}:")
            lines.extend(items)

    section("Why", [f"  - [{c.status or 'note'}] {_with_when(c)}" for c in answer.conditions])
    section("Bill", _billing_lines(answer))
    # The same requirement may come from rules for different situations: each line says its own.
    section("Limits", [f"  - {_with_when(item)}" for item in answer.limits])
    section("Document", [f"  - {_with_when(item)}" for item in answer.documentation])
    # One line per conflict: which rules disagree with which (a rule may be in several conflicts).
    section(
        "Conflicts",
        [
            f"  - {c.topic}: "
            + "; ".join(
                f"{side.rule.rsplit('/', 1)[-1]} says {', '.join(side.says)} ({side.evidence_level})"
                for side in c.sides
            )
            for c in answer.conflicts
        ],
    )
    section(
        "Sources",
        sorted(
            {
                f"  - {c.title} <{c.url}> ({c.evidence_level} source"
                + (f", published {c.published}" if c.published else "")
                + f", accessed {c.accessed})"
                for c in answer.citations
            }
        ),
    )
    section("Notices", [f"  - {n}" for n in answer.notices])
    lines.append(f"graph revision {answer.graph_revision}, as of {answer.as_of}")
    return "\n".join(lines)


def _with_when(item: Item) -> str:
    return item.text + (f" (when {item.when})" if item.when else "")


def _billing_lines(answer: CoverageAnswer) -> list[str]:
    """One line per billing facet and situation: alternatives read as alternatives ("93 or FQ"),
    each with its meaning, never as two lines that both seem required."""
    lines = []
    for key, items in answer.billing.items():
        by_when: dict[str | None, list[str]] = {}
        for item in items:
            shown = f"{item.id} ({item.text})" if item.text and item.text != item.id else item.id
            if shown not in by_when.setdefault(item.when, []):
                by_when[item.when].append(shown)
        for when, shown_items in by_when.items():
            line = f"  - {BILLING_WORDS.get(key, key.replace('_', ' '))}: {' or '.join(shown_items)}"
            lines.append(line + (f" (when {when})" if when else ""))
    return lines


SUFFIX_TYPES = {".json": "application/json", ".jsonld": "application/ld+json", ".ttl": "text/turtle"}


def _media_type(path: Path, body: bytes) -> str | None:
    """The media type of a file: by suffix, and a .json file holding a FHIR resource is FHIR."""
    media = SUFFIX_TYPES.get(path.suffix.lower())
    if media == "application/json" and b'"resourceType"' in body:
        return FHIR_JSON
    return media


@_app.command()
def validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Encounter files (.json, .jsonld, .ttl), or FHIR R4 claims (.json with a resourceType)"
        ),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            help="An NDJSON file with one JSON encounter per line, or an 837P file (.837, .x12, .edi)"
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--format", help="text, json, or fhir (an OperationOutcome per file)")
    ] = "text",
) -> None:
    """Validate encounters against their payers' rules. Exit 0 all conform, 1 some do not, 2 bad input."""
    if output not in ("text", "json", "fhir"):
        fail("--format must be text, json or fhir")
    if bool(files) == bool(batch):
        fail("give encounter files, or --batch FILE.ndjson, but not both")
    from payerkg.services import validation

    settings = Settings()
    policy = current_policy(settings)
    if batch is not None:
        if batch.suffix.lower() in X12_SUFFIXES:
            workers = os.cpu_count() or 1
            raise typer.Exit(_validate_claim_file(policy, batch, settings, output, workers, each=False))
        raise typer.Exit(_validate_batch(policy, batch, settings, output))
    x12_files = [path for path in files or [] if path.suffix.lower() in X12_SUFFIXES]
    if x12_files:
        if len(x12_files) != len(files or []):
            fail("give 837P files (.837, .x12, .edi) apart from encounter files")
        codes = [_validate_claim_file(policy, path, settings, output, 1, each=True) for path in x12_files]
        raise typer.Exit(max(codes))
    results: list[tuple[Path, ValidationResult, MappedResult | None]] = []
    for path in files or []:
        try:
            body = path.read_bytes()
        except OSError as error:
            fail(f"{path}: cannot read ({error.strerror})")
        media = _media_type(path, body)
        if media is None:
            fail(f"{path}: unsupported file type (use .json, .jsonld or .ttl)")
        try:
            if media == FHIR_JSON:
                claim = validation.validate_fhir(policy, body, settings.encounter_limits())
                results.append((path, claim.result, claim))
            else:
                limits = settings.encounter_limits()
                results.append((path, validation.validate(policy, body, media, limits), None))
        except PayerKGError as error:
            fail(f"{path}: {error.code}: {error.message}")
    for path, result, answer in results:
        if output == "json":
            typer.echo(json.dumps({"file": str(path), **result.to_dict()}))
        elif output == "fhir":
            from payerkg.validation.formats.fhir import operation_outcome

            typer.echo(json.dumps(operation_outcome(answer, result)))
        else:
            typer.echo(render_findings(str(path), result, answer))
    raise typer.Exit(0 if all(result.no_violations for _, result, _ in results) else 1)


def render_findings(name: str, result: ValidationResult, answer: MappedResult | None = None) -> str:
    """A biller's view of one result: verdict, then each finding with its rule and source (and,
    for a claim, the element it is about)."""
    lines = [f"{name}: {'conforms' if result.no_violations else 'DOES NOT CONFORM'}"]
    for finding in result.findings:
        lines.append(f"  - {finding.severity}: {finding.message}")
        where = answer.mapped.location(finding.field) if answer is not None else None
        if where:
            lines.append(f"    at: {where}")
        if finding.rule:
            lines.append(f"    rule: {finding.rule}")
        for citation in finding.citations[:2]:
            lines.append(f"    source: {citation.title} <{citation.url}>")
    return "\n".join(lines)


X12_SUFFIXES = (".837", ".x12", ".edi")


def _validate_claim_file(
    policy: PolicyGraph, path: Path, settings: Settings, output: str, workers: int, each: bool
) -> int:
    """An 837P file: read whole (any refusal exits 2 before a claim is judged), then one verdict
    per claim with a progress bar, and a summary. ``each`` prints every claim's findings as text."""
    from payerkg.services import validation
    from payerkg.validation.formats.mapped import ClaimsSummary

    try:
        raw = path.read_bytes()
    except OSError as error:
        fail(f"{path}: cannot read ({error.strerror})")
    try:
        claims = validation.read_x12(policy, raw, settings.max_batch_bytes)
    except PayerKGError as error:
        fail(f"{path}: {error.code}: {error.message}")
    conform, by_rule = 0, dict[str, int]()
    if each:  # every claim's findings, as text or JSON
        judged = validation.validate_claims(policy, claims, settings.encounter_limits())
        with typer.progressbar(judged, length=len(claims), label="validating claims", file=sys.stderr) as bar:
            verdicts = list(bar)
        for verdict in verdicts:
            typer.echo(json.dumps(asdict(verdict)) if output == "json" else render_claim(str(path), verdict))
        summary = ClaimsSummary.of(verdicts)
        conform, by_rule = summary.conform, summary.violations_by_rule
    else:  # a batch: records from all cores, a progress bar, then the table
        records = validation.claim_records(policy, claims, settings.encounter_limits(), workers)
        with typer.progressbar(
            records, length=len(claims), label="validating claims", file=sys.stderr
        ) as bar:
            for record in bar:
                if output == "json":
                    typer.echo(record.text)
                conform += record.no_violations
                for rule in record.violated_rules:
                    by_rule[rule] = by_rule.get(rule, 0) + 1
    table = [f"{'claims':<20} {len(claims):>8}", f"{'conform':<20} {conform:>8}"]
    table += [f"{'do not conform':<20} {len(claims) - conform:>8}", "", "violations by rule:"]
    table += [f"  {count:>6}  {rule}" for rule, count in sorted(by_rule.items(), key=lambda i: (-i[1], i[0]))]
    typer.echo("\n".join(table), err=output == "json")
    return 0 if conform == len(claims) else 1


def render_claim(name: str, verdict: ClaimVerdict) -> str:
    """One claim of a claim file: its id and place, verdict, each finding with where it is."""
    lines = [f"{name}: claim {verdict.claim or '(no id)'} at {verdict.location}: "]
    lines[0] += "conforms" if verdict.no_violations else "DOES NOT CONFORM"
    for finding in verdict.findings:
        lines.append(f"  - {finding.severity}: {finding.message}")
        if finding.location:
            lines.append(f"    at: {finding.location}")
        if finding.rule:
            lines.append(f"    rule: {finding.rule}")
        for citation in finding.citations[:2]:
            lines.append(f"    source: {citation.title} <{citation.url}>")
    return "\n".join(lines)


def _validate_batch(policy: PolicyGraph, path: Path, settings: Settings, output: str) -> int:
    from payerkg.services.validation import validate_batch

    try:
        raw = path.read_bytes()
    except OSError as error:
        fail(f"{path}: cannot read ({error.strerror})")
    if len(raw) > settings.max_batch_bytes:
        fail(f"{path}: larger than {settings.max_batch_bytes} bytes")
    lines = raw.splitlines()
    names = {"conforms": "conform", "does-not-conform": "do not conform", "refused": "refused"}
    counts = dict.fromkeys(names.values(), 0)
    by_rule: dict[str, int] = {}
    records = validate_batch(policy, lines, settings.encounter_limits(), workers=os.cpu_count() or 1)
    with typer.progressbar(records, length=len(lines), label="validating", file=sys.stderr) as progress:
        for record in progress:
            if output == "json":
                typer.echo(record.text)
            counts[names[record.status]] += 1
            for rule in record.violated_rules:
                by_rule[rule] = by_rule.get(rule, 0) + 1
    summary = [f"{'encounters':<20} {sum(counts.values()):>8}"] + [
        f"{k:<20} {v:>8}" for k, v in counts.items()
    ]
    summary += ["", "violations by rule:"] + [
        f"  {count:>6}  {rule}" for rule, count in sorted(by_rule.items(), key=lambda item: -item[1])
    ]
    typer.echo("\n".join(summary), err=output == "json")
    if counts["refused"]:
        return 2
    return 0 if counts["do not conform"] == 0 else 1


@_app.command("cds-hook")
def cds_hook(
    request: Annotated[Path, typer.Argument(help="A CDS Hooks request (JSON), as an EHR would POST it")],
    service_id: Annotated[
        str | None, typer.Option("--service", help="The service id; default: the one for the request's hook")
    ] = None,
) -> None:
    """Answer a CDS Hooks request as POST /cds-services/{id} does (Da Vinci CRD coverage information)."""
    try:
        body = request.read_bytes()
    except OSError as error:
        fail(f"{request}: cannot read ({error.strerror})")
    from payerkg.services import cds_hooks

    settings = Settings()
    try:
        answer = cds_hooks.answer_hook(
            current_policy(settings), service_id, body, settings.encounter_limits()
        )
    except PayerKGError as error:
        fail(f"{request}: {error.code}: {error.message}")
    typer.echo(json.dumps(answer.to_json(), indent=2))


@_app.command()
def matrix(
    date_of_service: Annotated[str, typer.Option("--date", help="Date of service, YYYY-MM-DD")],
    codes: Annotated[
        str | None, typer.Option(help="Comma-separated codes; default: a telehealth set")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text, json or markdown")] = "text",
) -> None:
    """Payers x codes on one date: the determination in each cell and the rules behind it."""
    if output not in ("text", "json", "markdown"):
        fail("--format must be text, json or markdown")
    day = parse_date(date_of_service, "date")
    assert day is not None
    from payerkg.coverage.matrix import render_markdown
    from payerkg.services import coverage

    try:
        table = coverage.matrix(current_policy(Settings()), day, codes)
    except PayerKGError as error:
        fail(error.message)
    if output == "json":
        typer.echo(json.dumps(asdict(table), indent=2))
    elif output == "markdown":
        typer.echo(render_markdown(table), nl=False)
    else:
        width = max(len(p) for p in table.payers)
        typer.echo(" " * width + "  " + "  ".join(f"{c:>12}" for c in table.codes))
        for payer in table.payers:
            row = "  ".join(f"{table.cells[payer][c].determination:>12}" for c in table.codes)
            typer.echo(f"{payer:<{width}}  {row}")


@_app.command()
def conflicts(
    as_of: Annotated[str | None, typer.Option(help="What was known on this date (default today)")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Every conflict in the graph: rules for one payer and code that disagree over shared dates."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    from payerkg.services import coverage

    found = coverage.conflicts(current_policy(Settings()), parse_date(as_of, "as-of"))
    if output == "json":
        typer.echo(json.dumps([asdict(c) for c in found], indent=2))
        return
    for c in found:
        period = f"{c.overlap_start} to {c.overlap_end or 'open'}"
        codes = ", ".join(c.codes[:6]) + ("..." if len(c.codes) > 6 else "")
        typer.echo(f"{c.payer}: {c.topic}, {period}, codes {codes}")
        for side in (c.first, c.second):
            typer.echo(f"  {side.rule} says {', '.join(side.says)} ({side.evidence_level})")
    typer.echo(f"{len(found)} conflict(s)", err=True)


@_app.command()
def review(
    payer: Annotated[str | None, typer.Option(help="Only this payer's own rule versions")] = None,
    older_than: Annotated[
        str | None, typer.Option(help="Only versions last reviewed longer ago than this, e.g. 12m, 90d, 2y")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Rule versions oldest review first, with evidence level and sources: what to check next."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    from payerkg.services import coverage

    try:
        entries = coverage.review(current_policy(Settings()), payer, older_than)
    except PayerKGError as error:
        fail(f"--{(error.pointer or '').replace('_', '-')}: {error.message}")
    if output == "json":
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2, default=str))
        return
    for e in entries:
        confirmed = f", sources confirm it up to {e.last_confirmed}" if e.last_confirmed else ""
        typer.echo(
            f"{e.reviewed_on or 'never'}  {e.payer}  {e.rule_version.rsplit('/', 1)[-1]} "
            f"({e.status}, {e.evidence_level}{confirmed})"
        )
        for source in sorted({f"{c.title} <{c.url}> ({c.evidence_level})" for c in e.sources}):
            typer.echo(f"    {source}")
    typer.echo(f"{len(entries)} rule version(s)", err=True)


@_app.command("article-check")
def article_check_command(
    claims: Annotated[Path, typer.Option(help="Claims file")] = Path("docs/article-claims.json"),
    output: Annotated[Path, typer.Option(help="Markdown page to write")] = Path("docs/article-check.md"),
) -> None:
    """Ask the engine the question behind each claim of the seed article and write the page."""
    from payerkg.cli.article_check import render

    try:
        page = render(current_policy(Settings()), claims)
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail(f"cannot read the claims file ({error.__class__.__name__})")
    except PayerKGError as error:
        fail(error.message)
    output.write_text(page, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)


@_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PAYERKG_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PAYERKG_PORT or 8000")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes; more than 1 needs PAYERKG_EDITING=false. Default: PAYERKG_WORKERS or 1"
        ),
    ] = None,
) -> None:
    """Start the HTTP service on the embedded default graph."""
    from payerkg.api.access_log import LOG_CONFIG
    from payerkg.cli.workers import run_server

    try:
        settings = Settings()
        if workers is not None:  # the option over PAYERKG_WORKERS, even when it says 1
            settings.workers = workers
        settings.check_workers()
        application = _served_application(settings)
    except PayerKGError as error:
        fail(error.message)
    from payerkg.api.app import WORKER_FAILURE_FILE

    with contextlib.ExitStack() as stack:
        report = None
        if settings.workers > 1:
            # Only spawned workers report this way. One process needs no folder, and would leave
            # it behind: uvicorn raises SIGTERM again after its graceful shutdown.
            report = (
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="payerkg-serve-"))) / "failure"
            )
            os.environ[WORKER_FAILURE_FILE] = str(report)  # spawned workers inherit it
        # payerkg.access logs route, status, duration, role and request id; uvicorn's own access
        # log (full query strings) stays off (docs/security.md).
        run_server(
            application,
            host=host or settings.host,
            port=port or settings.port,
            workers=settings.workers,
            access_log=False,
            log_config=LOG_CONFIG,
        )
        if report is not None and report.exists():
            fail(f"a worker could not start, so the service stopped: {report.read_text(encoding='utf-8')}")


def _served_application(settings: Settings) -> FastAPI | str:
    """One worker: the app, built here so that a store it cannot serve is exit 2. Several: the
    factory each worker calls (uvicorn imports it by name); a remote store without a revision is
    refused here first, as one worker would refuse it."""
    from payerkg.api.app import NOT_SEEDED, create_app

    if settings.workers == 1:
        return create_app(settings)
    if settings.store == "remote":
        from payerkg.editing import revisions

        if revisions.head(settings.open_store()) is None:
            raise StoreError(NOT_SEEDED)
    return "payerkg.api.app:worker_app"


ELSEWHERE: dict[str, str] = {
    "diff": "payerkg.cli.diff:diff_command",
    "what-if": "payerkg.cli.editing:what_if_command",
    "shacl": "payerkg.cli.shacl:shacl_command",
    "telehealth-list-doc": "payerkg.cli.telehealth_list:telehealth_list_doc_command",
    "store": "payerkg.cli.editing:store_app",
    "audit": "payerkg.cli.editing:audit_app",
    "key": "payerkg.cli.editing:key_app",
    "import": "payerkg.cli.importing:import_app",
}
"""The commands (functions) and command groups (typer apps) of other modules, by name, as
``module:attribute``: imported only when asked for."""


def command_line(args: Sequence[str]) -> typer.Typer:
    """The command line that runs ``args``: only the command they name when they name one, else
    every command (for the full help, or typer's message about an unknown command). Typer builds
    the parameters of every command it holds on each run: 15-20 ms that a one-shot command, which
    needs its own, would spend on all of them."""
    asked = args[0] if args else None
    here = [info for info in _app.registered_commands if _command_name(info) == asked]
    elsewhere = [asked] if asked in ELSEWHERE else []
    if not here and not elsewhere:
        here, elsewhere = list(_app.registered_commands), list(ELSEWHERE)
    line = copy.copy(_app)
    line.registered_commands = here
    line.registered_groups = []
    for name in elsewhere:
        module, _, attribute = ELSEWHERE[name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if isinstance(command, typer.Typer):
            line.add_typer(command, name=name)
        else:
            line.command(name)(command)
    return line


def _command_name(info: CommandInfo) -> str | None:
    return info.name or (info.callback and get_command_name(info.callback.__name__))


def main() -> None:
    """The ``payerkg`` program."""
    command_line(sys.argv[1:])()


if __name__ == "__main__":
    main()
