"""The Validate page (``/check``): paste or upload an encounter (JSON, JSON-LD, Turtle) or an NDJSON
batch; the findings in a table naming field, rule and sources, or downloaded as CSV or NDJSON.

The encounter is POSTed (never put in a URL) and read within the API's limits: the encounter size,
depth and statement limits for one, the caller's batch limit for a batch. A batch's page is
streamed: the form, then a progress line as its encounters are judged (no script: the browser
shows the page as it arrives), then the findings. The downloads under the findings are ``data:``
links made from the same outcome, so nothing is kept on the server to fetch them again."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import asdict, dataclass, field

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartParser

from payerkg.api.auth import INTEGRATOR
from payerkg.api.deps import PolicyDep, SettingsDep
from payerkg.api.limits import batch_cap
from payerkg.api.problems import status_for
from payerkg.api.routers import resource_router
from payerkg.api.validation import read_capped
from payerkg.errors import InputError, PayerKGError, TooLarge, UnsupportedFormat
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import Citation
from payerkg.services import validation
from payerkg.settings import Settings
from payerkg.validation.encounter import Limits
from payerkg.validation.validate import LineVerdict, Verdict
from payerkg.web.rendering import PAGE_POLICY, PAGES_TAG, page, render

router = resource_router(PAGES_TAG, include_in_schema=False)
FORMATS = {
    "json": "application/json",
    "jsonld": "application/ld+json",
    "turtle": "text/turtle",
    "ndjson": "application/x-ndjson",
}
"""The formats the form offers, by the value its select sends."""
FORM_OVERHEAD = 16 * 1024
"""Room for the form's other fields and multipart headers around the document."""
PROGRESS_S = 0.25
"""How often, at most, a batch's page says how many encounters are judged (seconds)."""
LINK_MAX = 1_500_000
"""The longest download offered as a ``data:`` link (Chromium refuses URLs over 2 MB); a larger one
is downloaded with the form's buttons, which send the batch again."""
STREAM_MARK = "<!-- streamed -->"
"""Where a batch page's progress lines and then its findings go."""


@dataclass(frozen=True)
class Row:
    """One finding (or one refused batch line) as the table and the downloads show it."""

    line: int | None
    encounter: str
    status: str
    severity: str
    field: str
    message: str
    rule: str
    sources: list[Citation]


@dataclass
class Outcome:
    """What a submission gave: a verdict per encounter and the rows of the table."""

    encounters: int = 0
    without_violations: int = 0
    refused: int = 0
    rows: list[Row] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    """One NDJSON line per encounter (or refused line), as ``POST /validate/batch`` answers."""
    graph_revision: str = ""


@dataclass(frozen=True)
class Download:
    """The findings as one file: a ``data:`` link, or None when too large for a link."""

    kind: str
    label: str
    name: str
    href: str | None


@router.get("/check", dependencies=INTEGRATOR)
def check_form() -> Response:
    """The empty form."""
    return _page(values={"format": "json", "text": ""}, errors={}, outcome=None)


@router.post("/check", dependencies=INTEGRATOR)
async def check(request: Request, policy: PolicyDep, settings: SettingsDep) -> Response:
    """Validate what the form sent; a refused document is shown on the form with the API's code."""
    errors: dict[str, str] = {}
    values = {"format": "json", "text": ""}
    status = 200
    outcome = None
    wanted = "page"
    try:
        form = await _form(request, settings)
        chosen = str(form.get("format") or "json")
        values = {"format": chosen, "text": str(form.get("text") or "")}
        wanted = str(form.get("as") or "page")
        if chosen not in FORMATS:
            raise UnsupportedFormat("format must be one of " + ", ".join(FORMATS), "format")
        body, source = await _document(form)
        if not body.strip():
            raise InputError("paste an encounter or choose a file", "text")
        cap = batch_cap(request, settings)
        if chosen == "ndjson" and wanted == "page":
            if len(body) > cap:
                raise TooLarge(f"the batch is larger than {cap} bytes", source)
            return _streamed(policy, settings.encounter_limits(), body, _shown(values))
        outcome = await run_in_threadpool(_validate, policy, settings, body, chosen, cap, source)
    except PayerKGError as error:
        field = error.pointer if error.pointer in ("format", "file") else "text"
        errors[field] = f"{error.message} ({error.code})"
        status = status_for(error)
    if outcome is not None and wanted == "csv":
        return _download(_csv(outcome), "text/csv; charset=utf-8", "findings.csv")
    if outcome is not None and wanted == "ndjson":
        return _download(_ndjson(outcome), "application/x-ndjson", "findings.ndjson")
    return _page(status, values=_shown(values), errors=errors, outcome=outcome)


def _page(
    status: int = 200, *, values: dict[str, str], errors: dict[str, str], outcome: Outcome | None
) -> Response:
    downloads = _downloads(outcome) if outcome is not None else []
    return page(
        "check.html",
        status,
        values=values,
        errors=errors,
        outcome=outcome,
        downloads=downloads,
        formats=FORMATS,
        stream_mark=None,
    )


def _shown(values: dict[str, str]) -> dict[str, str]:
    """The form's values as shown again: a large text is not echoed (the file stays with the user)."""
    return values | {"text": ""} if len(values["text"]) > 64 * 1024 else values


def _streamed(policy: PolicyGraph, limits: Limits, body: bytes, values: dict[str, str]) -> StreamingResponse:
    """A batch's page as it is judged: the form, a progress line at most every ``PROGRESS_S``
    seconds (and one at the start and the end), then the findings and their downloads."""
    lines = body.splitlines()
    total = sum(1 for line in lines if line.strip())
    form = render(
        "check.html",
        values=values,
        errors={},
        outcome=None,
        downloads=[],
        formats=FORMATS,
        stream_mark=STREAM_MARK,
        total=total,
    )
    head, middle, tail = form.split(STREAM_MARK)

    def progress(done: int) -> str:
        return render("check_progress.html", done=done, total=total)

    def parts() -> Iterator[str]:
        outcome = Outcome(graph_revision=policy.revision)
        yield head + progress(0)
        shown = time.monotonic()
        for judged in validation.judge_batch(policy, lines, limits):
            _add_judged(outcome, judged)
            if time.monotonic() - shown >= PROGRESS_S and outcome.encounters < total:
                yield progress(outcome.encounters)
                shown = time.monotonic()
        findings = render(
            "check_findings.html", values=values, outcome=outcome, downloads=_downloads(outcome)
        )
        yield progress(outcome.encounters) + middle + findings + tail

    # A plain iterator runs in a worker thread, so judging never blocks the event loop.
    response = StreamingResponse(parts(), media_type="text/html; charset=utf-8")
    response.headers["content-security-policy"] = PAGE_POLICY
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["cache-control"] = "no-store"
    response.headers["x-accel-buffering"] = "no"  # a proxy in front passes each line on at once
    return response


async def _form(request: Request, settings: Settings) -> FormData:
    """The form, read within the largest document the caller may send (plus the form's own fields)."""
    cap = max(settings.encounter_limits().max_bytes, batch_cap(request, settings)) + FORM_OVERHEAD
    body = await read_capped(request, cap)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await MultiPartParser(
            request.headers, stream(), max_files=1, max_fields=8, max_part_size=cap
        ).parse()
    if kind == "application/x-www-form-urlencoded":
        return await FormParser(request.headers, stream(), max_fields=8, max_part_size=cap).parse()
    raise UnsupportedFormat(
        "send the form as multipart/form-data or application/x-www-form-urlencoded", "format"
    )


async def _document(form: FormData) -> tuple[bytes, str]:
    """The uploaded file if one was chosen, else the pasted text; and which field it came from."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(), "file"
    return str(form.get("text") or "").encode("utf-8"), "text"


def _validate(
    policy: PolicyGraph, settings: Settings, body: bytes, chosen: str, cap: int, source: str
) -> Outcome:
    outcome = Outcome(graph_revision=policy.revision)
    limits = settings.encounter_limits()
    if chosen == "ndjson":
        if len(body) > cap:
            raise TooLarge(f"the batch is larger than {cap} bytes", source)
        for judged in validation.judge_batch(policy, body.splitlines(), limits):
            _add_judged(outcome, judged)
        return outcome
    if len(body) > limits.max_bytes:
        raise TooLarge(f"the document is larger than {limits.max_bytes} bytes", source)
    verdict = validation.validate(policy, body, FORMATS[chosen], limits).verdict()
    outcome.records.append(json.dumps(asdict(verdict)))
    _add_verdict(outcome, None, verdict)
    return outcome


def _add_judged(outcome: Outcome, judged: LineVerdict) -> None:
    outcome.records.append(judged.text())
    if judged.verdict is None:
        outcome.encounters += 1
        outcome.refused += 1
        message = f"{judged.error_detail} ({judged.error_code})"
        outcome.rows.append(Row(judged.line, "", "refused", "error", "", message, "", []))
    else:
        _add_verdict(outcome, judged.line, judged.verdict)


def _add_verdict(outcome: Outcome, line: int | None, verdict: Verdict) -> None:
    outcome.encounters += 1
    status = "conforms" if verdict.no_violations else "does-not-conform"
    if verdict.no_violations:
        outcome.without_violations += 1
    if not verdict.findings:
        outcome.rows.append(Row(line, verdict.encounter, status, "", "", "no findings", "", []))
    for f in verdict.findings:
        outcome.rows.append(
            Row(line, verdict.encounter, status, f.severity, f.field, f.message, f.rule or "", f.citations)
        )


def _csv(outcome: Outcome) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "encounter", "status", "severity", "field", "message", "rule", "sources"])
    for row in outcome.rows:
        sources = " ".join(c.url for c in row.sources)
        writer.writerow(
            [
                row.line or "",
                row.encounter,
                row.status,
                row.severity,
                row.field,
                row.message,
                row.rule,
                sources,
            ]
        )
    return out.getvalue()


def _downloads(outcome: Outcome) -> list[Download]:
    files = (
        ("csv", "CSV", "findings.csv", "text/csv", _csv(outcome)),
        ("ndjson", "NDJSON", "findings.ndjson", "application/x-ndjson", _ndjson(outcome)),
    )
    found = []
    for kind, label, name, media, text in files:
        href = f"data:{media};charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
        found.append(Download(kind, label, name, href if len(href) <= LINK_MAX else None))
    return found


def _ndjson(outcome: Outcome) -> str:
    return "".join(record + "\n" for record in outcome.records)


def _download(body: str, media: str, name: str) -> Response:
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})
