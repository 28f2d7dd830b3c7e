"""The page routes: Ask (``/``), Compare (``/compare`` and its CSV), Changes (and its Atom feed),
Code and Rule, and the style sheet. Each parses its query, calls the service layer or a catalog
look-up, and renders a template; a field the service refuses is shown beside the field with the
API's error code."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep, ServedDep
from payerkg.api.problems import status_for
from payerkg.api.routers import include, resource_router
from payerkg.coverage.answer import CoverageAnswer
from payerkg.editing.revisions import AuditedRevision, RevisionSummary
from payerkg.errors import InvalidParameter, PayerKGError, UnknownRule
from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import FACETS
from payerkg.graph.served import ServedGraph
from payerkg.services import coverage, editing
from payerkg.web import editor, validation
from payerkg.web import question as questions
from payerkg.web.rendering import PAGES_TAG, STATIC, install_error_pages, page, render, static_file

router = resource_router(PAGES_TAG, include_in_schema=False)
MAX_COMPARE_CODES = 40
Text = Annotated[str | None, Query()]


def install(app: FastAPI) -> None:
    """Add the pages, their style sheet and their HTML error pages to the app."""
    include(app, router)
    include(app, validation.router)
    include(app, editor.router)
    install_error_pages(app)


@router.get("/static/{name}", tags=[])
def static(name: Annotated[str, Path(max_length=32)]) -> Response:
    """The pages' style sheet (open to every caller, like the API's documentation assets)."""
    body = static_file(name)
    if body is None:
        return Response("no such file\n", status_code=404, media_type="text/plain")
    return Response(body, media_type=STATIC[name], headers={"cache-control": "max-age=3600"})


@router.get("/", dependencies=READER)
def ask(
    request: Request,
    policy: PolicyDep,
    payer: Text = None,
    code: Text = None,
    date_of_service: Annotated[str | None, Query(alias="date")] = None,
    modality: Text = None,
    patient_status: Text = None,
    patient_location: Text = None,
    rural: Text = None,
    aco_assigned: Text = None,
    practitioner_type: Text = None,
    purpose: Text = None,
    as_of: Text = None,
) -> Response:
    """The question form and, once a question is asked, its answer. The URL is the question."""
    sent = dict(request.query_params)
    if any(not value.strip() for value in sent.values()):
        return _without_empty_fields(request)
    parsed = questions.parse(sent)
    answer: CoverageAnswer | None = None
    links: dict[str, str] | None = None
    status = 422 if parsed.errors else 200
    if parsed.question is not None:
        try:
            answer = coverage.ask(policy, parsed.question)
        except PayerKGError as error:
            parsed.errors[error.pointer or "payer"] = f"{error.message} ({error.code})"
            status = status_for(error)
        else:
            base = str(request.base_url).rstrip("/")
            query = questions.query_string(parsed.question)
            links = {
                "page": f"{base}/?{query}",
                "json": f"/coverage?{query}",
                "cli": questions.cli_command(parsed.question),
                "curl": questions.curl_command(base, parsed.question),
            }
    return page("ask.html", status, form=_form(policy), parsed=parsed, answer=answer, links=links)


@router.get("/compare", dependencies=READER)
def compare(
    request: Request,
    policy: PolicyDep,
    date_of_service: Annotated[str | None, Query(alias="date")] = None,
    as_of: Text = None,
    group: Text = None,
    family: Text = None,
    codes: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The payers x codes matrix of a date, narrowed by payer group and code family."""
    if any(not value.strip() for value in request.query_params.values()):
        return _without_empty_fields(request)
    sent = {name: value.strip() for name, value in request.query_params.items()}
    errors: dict[str, str] = {}
    day = _day(sent.get("date"), "date", errors) or date.today()
    known = _day(sent.get("as_of"), "as_of", errors)
    table = None
    if not errors:
        try:
            table = coverage.compare(
                policy,
                day,
                sent.get("codes"),
                known,
                sent.get("group"),
                sent.get("family"),
                MAX_COMPARE_CODES,
            )
        except PayerKGError as error:
            errors[error.pointer or "codes"] = f"{error.message} ({error.code})"
    csv_query = [(n, v) for n, v in request.query_params.multi_items() if v.strip()]
    return page(
        "compare.html",
        422 if errors else 200,
        values=sent | {"date": sent.get("date") or day.isoformat()},
        errors=errors,
        table=table,
        choices=coverage.compare(policy, day) if table is None else table,
        csv_url=_url("/compare.csv", csv_query),
        query=questions.query_string,
    )


@router.get("/compare.csv", dependencies=READER)
def compare_csv(
    policy: PolicyDep,
    date_of_service: Annotated[str, Query(alias="date", max_length=10)],
    as_of: Annotated[str | None, Query(max_length=10)] = None,
    group: Text = None,
    family: Text = None,
    codes: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The Compare page's matrix as CSV: one row per payer, one column per code."""
    errors: dict[str, str] = {}
    day = _day(date_of_service, "date", errors)
    known = _day(as_of, "as_of", errors)
    if errors or day is None:
        name, message = next(iter(errors.items()), ("date", "required"))
        raise InvalidParameter(f"{name}: {message}", name)
    table = coverage.compare(policy, day, codes, known, group or None, family or None, MAX_COMPARE_CODES)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["payer", "payer_label", "payer_group", *(c.code for c in table.codes)])
    for payer in table.payers:
        cells = table.cells[payer.id]
        writer.writerow(
            [payer.id, payer.label, payer.group, *(cells[c.code].determination for c in table.codes)]
        )
    name = f"payerkg-compare-{table.date}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-graph-revision": table.graph_revision,
        },
    )


@router.get("/code/{code}", dependencies=READER)
def code_page(
    policy: PolicyDep,
    code: Annotated[str, Path(max_length=8)],
    date_of_service: Annotated[str | None, Query(alias="date")] = None,
) -> Response:
    """A code's validity, each payer's recognition on a date, and the rule versions that name it."""
    errors: dict[str, str] = {}
    day = _day(date_of_service, "date", errors) or date.today()
    if errors:
        raise InvalidParameter("date must be a date as YYYY-MM-DD", "date")
    info = catalog.code(policy, code.upper(), day)
    versions = catalog.rule_versions(policy, code=info.code)
    return page("code.html", info=info, versions=versions, revision=policy.revision)


@router.get("/rule/{rule_id}", dependencies=READER)
def rule_page(
    request: Request, policy: PolicyDep, served: ServedDep, rule_id: Annotated[str, Path(max_length=128)]
) -> Response:
    """A rule's versions on a timeline with their sources, and its revision history: each revision
    that touched it with the diff of its statements (a rule version's id shows its rule). Who
    made a change and why is shown to admins only (a key, or signed in on the Edit page)."""
    rule = _rule_of(policy, rule_id)
    history = editing.rule_history(served, rule, audit=False)
    sources = {v.iri: coverage.version_sources(policy, v.iri) for v in history.versions}
    audit = editor.visitor_of(request).may("admin")
    changes = editing.rule_revisions(served, history.rule, audit)
    return page(
        "rule.html",
        rule_id=rule,
        history=history,
        sources=sources,
        changes=changes,
        audit=audit,
        editable=served.editable,
        revision=policy.revision,
    )


RECENT_REVISIONS = 50
"""How many revisions the Changes page and the feed list, newest first."""


@router.get("/changes", dependencies=READER)
def changes(
    request: Request,
    policy: PolicyDep,
    served: ServedDep,
    from_date: Text = None,
    to_date: Text = None,
    as_of: Text = None,
    group: Text = None,
    family: Text = None,
    codes: Annotated[str | None, Query(max_length=400)] = None,
    from_revision: Text = None,
    to_revision: Text = None,
) -> Response:
    """What changed between two dates of service (answers and rule versions) or two graph
    revisions (rule by rule), for a payer group and code family; and the recent revisions."""
    if any(not value.strip() for value in request.query_params.values()):
        return _without_empty_fields(request)
    sent = {name: value.strip() for name, value in request.query_params.items()}
    errors: dict[str, str] = {}
    start = _day(from_date, "from_date", errors)
    end = _day(to_date, "to_date", errors) or date.today()
    known = _day(as_of, "as_of", errors)
    first, last = _number(from_revision, "from_revision", errors), _number(to_revision, "to_revision", errors)
    by_date = by_revision = None
    if start is not None and not errors:
        try:
            by_date = coverage.date_changes(
                policy, start, end, codes, known, group, family, MAX_COMPARE_CODES
            )
        except PayerKGError as error:
            errors[error.pointer or "from_date"] = f"{error.message} ({error.code})"
    chosen = coverage.compare(policy, end) if by_date is None else by_date
    if (first is None) != (last is None) and not errors:
        errors["to_revision" if last is None else "from_revision"] = "give both revisions"
    elif first is not None and last is not None and not errors:
        payers = None
        if group:
            payers = [p.id for p in coverage.compare(policy, end, payer_group=group).payers]
        try:
            by_revision = editing.revision_diff_for_payers(served, first, last, payers)
        except PayerKGError as error:
            errors["to_revision"] = f"{error.message} ({error.code})"
    return page(
        "changes.html",
        422 if errors else 200,
        values=sent | {"to_date": sent.get("to_date") or end.isoformat()},
        errors=errors,
        by_date=by_date,
        by_revision=by_revision,
        groups=coverage.payer_groups(policy),
        families=chosen.families if isinstance(chosen, coverage.Comparison) else [],
        revisions=_recent_revisions(served),
        query=questions.query_string,
        revision=policy.revision,
    )


@router.get("/changes.atom", dependencies=READER)
def changes_feed(request: Request, served: ServedDep) -> Response:
    """The accepted changes (graph revisions) as an Atom feed, newest first: subscribe to learn
    of each one; every entry links to its changes on the Changes page."""
    base = str(request.base_url).rstrip("/")
    records = _recent_revisions(served)
    body = render(
        "changes.atom",
        base=base,
        records=records,
        updated=records[0].at if records else "1970-01-01T00:00:00Z",
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def _recent_revisions(served: ServedGraph) -> list[AuditedRevision | RevisionSummary]:
    """The newest revisions, without who made them and why (those are for admins only)."""
    if not served.editable:
        return []
    shown = editing.revision_log(served, audit=False)
    return list(reversed(shown[-RECENT_REVISIONS:]))


def _rule_of(policy: PolicyGraph, rule_id: str) -> str:
    catalog.rule_description(policy, rule_id)  # refuses a malformed or unknown id
    for version in catalog.rule_versions(policy):
        if version.id == rule_id:
            return version.rule.rsplit("/", 1)[-1]
    for version in catalog.rule_versions(policy):
        if version.rule.rsplit("/", 1)[-1] == rule_id:
            return rule_id
    raise UnknownRule("no rule or rule version with this id is in the graph", "id")


def _form(policy: PolicyGraph) -> dict[str, object]:
    """The form's choices, worked out once per revision."""
    return policy.view(_AskChoices).choices


class _AskChoices:
    """The Ask form's choices of one revision (read-only, shared by requests)."""

    def __init__(self, policy: PolicyGraph) -> None:
        self.choices = _choices(policy)


def _choices(policy: PolicyGraph) -> dict[str, object]:
    """The form's choices, from the graph: payers by kind and the values of each facet."""
    values = coverage.facet_values(policy)
    facets = [
        {"name": f.name, "words": f.words, "values": values.get(f.name, []), "yes_no": f.vocabulary is None}
        for f in FACETS
    ]
    payers = catalog.payers(policy)
    groups = []
    for group in coverage.payer_groups(policy):
        members = sorted((p for p in payers if p.kind == group.iri), key=lambda p: p.label.lower())
        groups.append({"label": group.label, "payers": members})
    return {"payer_groups": groups, "payer_ids": [p.id for p in payers], "facets": facets}


def _day(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    if not questions.DATE.fullmatch(value):
        errors[name] = "a date as YYYY-MM-DD"
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "a date as YYYY-MM-DD"
        return None


def _number(value: str | None, name: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        errors[name] = "a revision number (1, 2, ...)"
        return None
    return int(value)


def _without_empty_fields(request: Request) -> Response:
    """The same page at a shareable URL: a form's empty fields (unstated) left out."""
    kept = [(name, value.strip()) for name, value in request.query_params.multi_items() if value.strip()]
    return RedirectResponse(_url(request.url.path, kept), status_code=303)


def _url(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(pairs)}" if pairs else path
