"""payerkg command line. Exit codes: 0 success, 1 problems found, 2 bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from payerkg.core.coverage import CoverageAnswer, CoverageQuestion, coverage
from payerkg.core.dataset import load_dataset
from payerkg.core.lint import lint_files
from payerkg.errors import PayerKGError
from payerkg.settings import Settings

app = typer.Typer(
    help="payerkg: payer telehealth rules as a dated, cited knowledge graph.",
    no_args_is_help=True,
    add_completion=False,
)


def fail(message: str) -> NoReturn:
    typer.echo(f"payerkg: {message}", err=True)
    raise typer.Exit(2)


def parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--{name} must be a date as YYYY-MM-DD")


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Extra rule files; default: the shipped data")
    ] = None,
) -> None:
    """Check the policy graph (and extra rule files) against the policy shapes."""
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


@app.command("coverage")
def coverage_command(
    payer: Annotated[str, typer.Option(help="Payer id, e.g. medicare")],
    code: Annotated[str, typer.Option(help="CPT or HCPCS code")],
    date_of_service: Annotated[str, typer.Option("--date", help="Date of service, YYYY-MM-DD")],
    modality: Annotated[str | None, typer.Option(help="audio-video, audio-only, asynchronous, ...")] = None,
    patient_status: Annotated[str | None, typer.Option(help="new or established")] = None,
    patient_location: Annotated[str | None, typer.Option(help="home or facility")] = None,
    rural: Annotated[
        bool | None, typer.Option("--rural/--not-rural", help="Patient site rural as the law defines it")
    ] = None,
    practitioner_type: Annotated[str | None, typer.Option(help="e.g. physician, nurse-practitioner")] = None,
    purpose: Annotated[str | None, typer.Option(help="mental-health, sud, stroke or esrd")] = None,
    as_of: Annotated[str | None, typer.Option(help="Answer with what was known on this date")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """What a payer requires for a code on a date of service, and why."""
    if output not in ("text", "json"):
        fail("--format must be text or json")
    question = CoverageQuestion(
        payer=payer,
        code=code,
        date_of_service=parse_date(date_of_service, "date"),  # type: ignore[arg-type]
        modality=modality,
        patient_status=patient_status,
        patient_location=patient_location,
        rural=rural,
        practitioner_type=practitioner_type,
        purpose=purpose,
        as_of=parse_date(as_of, "as-of"),
    )
    try:
        answer = coverage(load_dataset(Settings().data_dir), question)
    except PayerKGError as error:
        fail(error.message)
    if output == "json":
        typer.echo(json.dumps(answer.to_dict(), indent=2))
    else:
        typer.echo(render_text(answer))


def render_text(answer: CoverageAnswer) -> str:
    """A short verdict for a person: determination, why, what to bill, what to document, sources."""
    lines = [
        f"{answer.payer} {answer.code} on {answer.date_of_service}: {answer.determination.upper()}",
        f"  {answer.summary}",
    ]

    def section(title: str, items: list[Any]) -> None:
        if items:
            lines.append(f"{title}:")
            lines.extend(items)

    section(
        "Why",
        [
            f"  - [{c.status or 'note'}] {c.text}" + (f" (when {c.when})" if c.when else "")
            for c in answer.conditions
        ],
    )
    section(
        "Bill",
        [
            f"  - {key.replace('_', ' ')}: {item.id}" + (f" (when {item.when})" if item.when else "")
            for key, items in answer.billing.items()
            for item in items
        ],
    )
    section("Limits", [f"  - {item.text}" for item in answer.limits])
    section("Document", [f"  - {item.text}" for item in answer.documentation])
    section(
        "Conflicts",
        [f"  - {side['rule']} says {side['determination']}" for c in answer.conflicts for side in c.sides],
    )
    section(
        "Sources",
        sorted(
            {f"  - {c.title} <{c.url}> ({c.evidence_level}, accessed {c.accessed})" for c in answer.citations}
        ),
    )
    section("Notices", [f"  - {n}" for n in answer.notices])
    lines.append(f"graph revision {answer.graph_revision}, as of {answer.as_of}")
    return "\n".join(lines)


@app.command("article-check")
def article_check_command(
    claims: Annotated[Path, typer.Option(help="Claims file")] = Path("docs/article-claims.json"),
    output: Annotated[Path, typer.Option(help="Markdown page to write")] = Path("docs/article-check.md"),
) -> None:
    """Ask the engine the question behind each claim of the seed article and write the page."""
    from payerkg.cli.article_check import render

    try:
        page = render(load_dataset(Settings().data_dir), claims)
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail(f"cannot read the claims file ({error.__class__.__name__})")
    except PayerKGError as error:
        fail(error.message)
    output.write_text(page, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Start the HTTP service on the embedded default graph."""
    import uvicorn

    from payerkg.api.app import create_app

    try:
        application = create_app(Settings())
    except PayerKGError as error:
        fail(error.message)
    uvicorn.run(application, host=host, port=port, log_level="info")


if __name__ == "__main__":
    app()
