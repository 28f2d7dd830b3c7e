"""Editing routes: list, add and roll back rule versions; revisions, diff and the audit log.

Each route parses its request, calls ``services/editing.py`` and returns its typed answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import READER, Admin, Caller, Editor, Reader, allows
from payerkg.api.deps import PolicyDep, ServedDep
from payerkg.api.problems import problems_for
from payerkg.api.routers import resource_router
from payerkg.api.validation import read_capped
from payerkg.editing.revisions import AuditedRevision, RevisionSummary
from payerkg.editing.what_if import questions_from_cases
from payerkg.errors import EditingOff, InputError, InvalidParameter, UnsupportedFormat
from payerkg.graph import catalog
from payerkg.graph.catalog import RuleVersionInfo
from payerkg.graph.served import ServedGraph
from payerkg.jsondoc import JSONObject
from payerkg.services import editing
from payerkg.services.editing import AuditCheck, Committed, DryRun, RevisionDiff, RuleChange, RuleHistory
from payerkg.validation.encounter import DEFAULT_LIMITS, Limits, encounter_from_json, load_json

router = resource_router("editing")
MAX_RULE_BYTES = 256 * 1024


class RuleChangeBody(BaseModel):
    """A change as JSON: the rule document (Turtle) with what the audit log records."""

    rule: str = Field(
        description="Turtle: new rules, new rule versions and sources", max_length=MAX_RULE_BYTES
    )
    reason: str = Field(min_length=3, max_length=2_000, pattern=r"^[^\x00]*$")
    base_revision: int = Field(ge=1, description="The newest revision the editor saw (409 if stale)")
    supersedes: bool = Field(
        default=False, description="Let each new version revise the active versions it disagrees with"
    )
    encounters: list[JSONObject] | None = Field(
        default=None, max_length=500, description="Dry run: encounters to judge (default: the shipped cases)"
    )
    questions: JSONObject | None = Field(
        default=None, description='Dry run: coverage questions as {"cases": [{"id", "question"}]}'
    )

    def change(self) -> RuleChange:
        return RuleChange(self.rule, self.reason, self.base_revision, self.supersedes)


def _turtle_parameter(name: str, kind: str, description: str) -> JSONObject:
    schema = {"type": kind}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


CHANGE_BODY: JSONObject = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RuleChangeBody"}},
            "text/turtle": {"schema": {"type": "string", "description": "The rule document"}},
        },
    },
    # A Turtle change carries these in the URL; the routes read them themselves.
    "parameters": [
        _turtle_parameter("reason", "string", "Turtle changes: why (the JSON form carries it in the body)"),
        _turtle_parameter("base_revision", "integer", "Turtle changes: the newest revision the editor saw"),
        _turtle_parameter(
            "supersedes", "boolean", "Turtle changes: let new versions revise the active ones they contradict"
        ),
    ],
}
"""The OpenAPI request of ``POST /rules`` and ``/rules/dry-run``, which read their bodies themselves."""


@router.get(
    "/rules",
    dependencies=READER,
    response_model=list[RuleVersionInfo],
    responses=problems_for(404),
    summary="Rule versions, filtered by payer, code and status",
)
def list_rules(
    policy: PolicyDep,
    payer: Annotated[str | None, Query(max_length=64)] = None,
    code: Annotated[str | None, Query(max_length=8)] = None,
    status: Annotated[str | None, Query(pattern="^(active|draft|retired)$")] = None,
) -> list[RuleVersionInfo]:
    return catalog.rule_versions(policy, payer, code, status)


@router.get(
    "/rules/{rule_id}/history",
    response_model=RuleHistory,
    responses=problems_for(404),
    summary="Every version of a rule, oldest first",
)
def rule_history(
    request: Request, served: ServedDep, caller: Reader, rule_id: Annotated[str, Path(max_length=128)]
) -> RuleHistory:
    """Each version with its dates, status, what it revises and the revisions that added it
    (author, role and reason for admins only)."""
    return editing.rule_history(served, rule_id, _reads_audit(request, caller))


@router.post(
    "/rules",
    status_code=201,
    response_model=Committed,
    responses=problems_for(409, 413, 415),
    summary="Add a rule or a new version of a rule",
    openapi_extra=CHANGE_BODY,
)
async def add_rule(request: Request, response: Response, served: ServedDep, caller: Editor) -> Committed:
    """Turtle (``text/turtle``, with ``reason`` and ``base_revision`` as query parameters) or JSON
    (``RuleChangeBody``). Checked like ``/rules/dry-run``; 201 only once the revision is stored."""
    body = await _read_change(request)
    _writable(request, served)
    committed = await run_in_threadpool(editing.commit, served, body.change(), caller.name, caller.role)
    response.headers["location"] = f"/revisions/{committed.revision}"
    return committed


@router.post(
    "/rules/dry-run",
    response_model=DryRun,
    responses=problems_for(413, 415),
    summary="Check a change and show what it would change, without applying it",
    openapi_extra=CHANGE_BODY,
)
async def dry_run(request: Request, served: ServedDep, _: Editor) -> DryRun:
    body = await _read_change(request, base_optional=True)
    encounters = [encounter_from_json(e) for e in body.encounters] if body.encounters else None
    questions = questions_from_cases(body.questions) if body.questions else None
    base = editing.editable(served).current()
    return await run_in_threadpool(editing.dry_run, base, body.rule, body.supersedes, encounters, questions)


@router.get(
    "/revisions",
    response_model=list[AuditedRevision | RevisionSummary],
    responses=problems_for(503),
    summary="Every graph revision, oldest first (author and reason: admins only)",
)
def list_revisions(
    request: Request, served: ServedDep, caller: Reader
) -> list[AuditedRevision | RevisionSummary]:
    return editing.revision_log(served, _reads_audit(request, caller))


@router.get(
    "/revisions/{number}",
    response_model=AuditedRevision | RevisionSummary,
    responses=problems_for(404),
    summary="One graph revision's record (author and reason: admins only)",
)
def get_revision(
    request: Request, served: ServedDep, caller: Reader, number: Annotated[int, Path(ge=1)]
) -> AuditedRevision | RevisionSummary:
    return editing.revision(served, number, _reads_audit(request, caller))


@router.post(
    "/revisions/{number}/rollback",
    status_code=201,
    response_model=Committed,
    responses=problems_for(404, 409),
    summary="Withdraw what an edit added",
)
async def rollback(
    request: Request,
    response: Response,
    served: ServedDep,
    caller: Admin,
    number: Annotated[int, Path(ge=1)],
    reason: Annotated[str, Query(min_length=3, max_length=2_000)],
    base_revision: Annotated[int, Query(ge=1)],
) -> Committed:
    """A new revision without the statements revision ``number`` added; nothing is deleted from
    the history, and the checks of an edit apply."""
    _writable(request, served)
    committed = await run_in_threadpool(
        editing.roll_back, served, number, caller.name, caller.role, reason, base_revision
    )
    response.headers["location"] = f"/revisions/{committed.revision}"
    return committed


@router.get(
    "/diff",
    dependencies=READER,
    response_model=RevisionDiff,
    responses=problems_for(404),
    summary="What changed between two revisions, per rule",
)
def revision_diff(
    served: ServedDep,
    from_revision: Annotated[int, Query(alias="from", ge=1)],
    to_revision: Annotated[int, Query(alias="to", ge=1)],
) -> RevisionDiff:
    return editing.revision_diff(served, from_revision, to_revision)


@router.get(
    "/audit",
    response_model=list[AuditedRevision],
    responses=problems_for(503),
    summary="The audit log: one record per accepted change, hash-chained",
)
def audit(served: ServedDep, _: Admin) -> list[AuditedRevision]:
    return editing.audit_log(served)


@router.get(
    "/audit/verify",
    response_model=AuditCheck,
    responses=problems_for(503),
    summary="Recompute the audit log's hash chain",
)
def audit_verify(served: ServedDep, _: Admin) -> AuditCheck:
    return editing.verify_audit(served)


async def _read_change(request: Request, base_optional: bool = False) -> RuleChangeBody:
    body = await read_capped(request, MAX_RULE_BYTES + 4_096)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the change is not UTF-8", "body") from None
    if kind == "application/json":
        document = load_json(text, CHANGE_LIMITS)
        if not isinstance(document, dict):
            raise InvalidParameter("the change must be a JSON object (see RuleChange)", "body")
        if base_optional:
            document.setdefault("base_revision", 1)
            document.setdefault("reason", "dry run")
        return _change(document)
    if kind == "text/turtle":
        params = request.query_params
        base = params.get("base_revision", "1" if base_optional else "")
        if not base.isdigit():
            raise InvalidParameter("base_revision (a revision number) is required", "base_revision")
        return _change(
            {
                "rule": text,
                "reason": params.get("reason", "dry run" if base_optional else ""),
                "base_revision": int(base),
                "supersedes": params.get("supersedes", "false").lower() == "true",
            }
        )
    raise UnsupportedFormat("send the change as text/turtle or application/json", "content-type")


# A change nests its encounters two levels down.
CHANGE_LIMITS = Limits(max_depth=DEFAULT_LIMITS.max_depth + 2)


def _change(document: JSONObject) -> RuleChangeBody:
    """The change model, or a 422 naming the fields at fault: never their values, and without
    pydantic's error (its text repeats the input) attached to be logged."""
    try:
        return RuleChangeBody.model_validate(document)
    except ValidationError as error:
        fields = sorted(
            {".".join(str(p) for p in e["loc"]) or "body" for e in error.errors(include_input=False)}
        )
    raise InvalidParameter("malformed or missing field: " + ", ".join(fields), fields[0])


def _reads_audit(request: Request, caller: Caller) -> bool:
    """Whether the caller may read who made a change and why (the audit log): admins only."""
    return allows(request.app.state.settings, caller, "admin")


def _writable(request: Request, served: ServedGraph) -> None:
    editing.editable(served)
    if not request.app.state.settings.editing:
        raise EditingOff("this replica takes no changes (PAYERKG_EDITING=false); send them to the writer")
