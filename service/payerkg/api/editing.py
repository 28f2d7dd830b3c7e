"""Editing routes: list, add and roll back rule versions; revisions, diff and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import READER, Admin, Caller, Editor, Reader, allows
from payerkg.api.deps import PolicyDep, ServedDep
from payerkg.api.validation import read_capped
from payerkg.editing import diff, revisions
from payerkg.editing import proposals as editing
from payerkg.editing.proposals import Proposal
from payerkg.editing.what_if import questions_from_cases, sample_encounters, sample_questions, what_if
from payerkg.errors import (
    EditingOff,
    InputError,
    InvalidParameter,
    StoreError,
    UnknownRevision,
    UnsupportedFormat,
)
from payerkg.graph import catalog
from payerkg.graph.served import ServedGraph
from payerkg.validation.encounter import DEFAULT_LIMITS, Limits, encounter_from_json, load_json

router = APIRouter(tags=["editing"])
MAX_RULE_BYTES = 256 * 1024


class RuleChange(BaseModel):
    """A change as JSON: the rule document (Turtle) with what the audit log records."""

    rule: str = Field(
        description="Turtle: new rules, new rule versions and sources", max_length=MAX_RULE_BYTES
    )
    reason: str = Field(min_length=3, max_length=2_000, pattern=r"^[^\x00]*$")
    base_revision: int = Field(ge=1, description="The newest revision the editor saw (409 if stale)")
    supersedes: bool = Field(
        default=False, description="Let each new version revise the active versions it disagrees with"
    )
    encounters: list[dict[str, Any]] | None = Field(
        default=None, max_length=500, description="Dry run: encounters to judge (default: the shipped cases)"
    )
    questions: dict[str, Any] | None = Field(
        default=None, description='Dry run: coverage questions as {"cases": [{"id", "question"}]}'
    )


TURTLE_PARAMETERS: dict[str, Any] = {
    "parameters": [
        {
            "name": "reason",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "Turtle changes: why (the JSON form carries it in the body)",
        },
        {
            "name": "base_revision",
            "in": "query",
            "required": False,
            "schema": {"type": "integer"},
            "description": "Turtle changes: the newest revision the editor saw",
        },
        {
            "name": "supersedes",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean"},
            "description": "Turtle changes: let new versions revise the active ones they disagree with",
        },
    ]
}
"""A Turtle change carries these in the URL; the routes read them themselves."""


@router.get("/rules", dependencies=READER, summary="Rule versions, filtered by payer, code and status")
def list_rules(
    policy: PolicyDep,
    payer: Annotated[str | None, Query(max_length=64)] = None,
    code: Annotated[str | None, Query(max_length=8)] = None,
    status: Annotated[str | None, Query(pattern="^(active|draft|retired)$")] = None,
) -> list[dict[str, Any]]:
    return catalog.rule_versions(policy, payer, code, status)


@router.get("/rules/{rule_id}/history", summary="Every version of a rule, oldest first")
def rule_history(
    request: Request,
    policy: PolicyDep,
    served: ServedDep,
    caller: Reader,
    rule_id: Annotated[str, Path(max_length=128)],
) -> dict[str, Any]:
    """Each version with its dates, status, what it revises and the revision that added it
    (author, role and reason for admins only)."""
    history = catalog.rule_history(policy, rule_id)
    records = revisions.log(served.store) if served.editable else []
    audit = _reads_audit(request, caller)
    history["revisions"] = [r.to_dict(audit) for r in records if history["rule"] in r.rules]
    return history


@router.post(
    "/rules",
    status_code=201,
    summary="Add a rule or a new version of a rule",
    openapi_extra=TURTLE_PARAMETERS,
)
async def add_rule(request: Request, served: ServedDep, caller: Editor) -> JSONResponse:
    """Turtle (``text/turtle``, with ``reason`` and ``base_revision`` as query parameters) or JSON
    (``RuleChange``). Checked like ``/rules/dry-run``; 201 only once the revision is stored."""
    change = await _read_change(request)
    _writable(request, served)
    record = await run_in_threadpool(_commit, served, change, caller.name, caller.role)
    policy = served.reload()
    body = {"revision": record.number, "graph_revision": policy.revision, "record": record.to_dict()}
    return JSONResponse(body, status_code=201, headers={"location": f"/revisions/{record.number}"})


@router.post(
    "/rules/dry-run",
    summary="Check a change and show what it would change, without applying it",
    openapi_extra=TURTLE_PARAMETERS,
)
async def dry_run(request: Request, served: ServedDep, _: Editor) -> dict[str, Any]:
    change = await _read_change(request, base_optional=True)
    return await run_in_threadpool(_dry_run, served, change)


@router.get("/revisions", summary="Every graph revision, oldest first (author and reason: admins only)")
def list_revisions(request: Request, served: ServedDep, caller: Reader) -> list[dict[str, Any]]:
    audit = _reads_audit(request, caller)
    return [r.to_dict(audit) for r in revisions.log(_editable(served).store)]


@router.get("/revisions/{number}", summary="One graph revision's record (author and reason: admins only)")
def get_revision(
    request: Request, served: ServedDep, caller: Reader, number: Annotated[int, Path(ge=1)]
) -> dict[str, Any]:
    return _record(served, number).to_dict(_reads_audit(request, caller))


@router.post("/revisions/{number}/rollback", status_code=201, summary="Withdraw what an edit added")
async def rollback(
    request: Request,
    served: ServedDep,
    caller: Admin,
    number: Annotated[int, Path(ge=1)],
    reason: Annotated[str, Query(min_length=3, max_length=2_000)],
    base_revision: Annotated[int, Query(ge=1)],
) -> JSONResponse:
    """A new revision without the statements revision ``number`` added; nothing is deleted from
    the history, and the checks of an edit apply."""

    _writable(request, served)

    def withdraw() -> revisions.RevisionRecord:
        store = served.store
        proposal = editing.propose_rollback(store, served.current(), number)
        return editing.accept(store, proposal, caller.name, caller.role, reason, base_revision)

    record = await run_in_threadpool(withdraw)
    served.reload()
    return JSONResponse(
        {"revision": record.number, "record": record.to_dict()},
        status_code=201,
        headers={"location": f"/revisions/{record.number}"},
    )


@router.get("/diff", dependencies=READER, summary="What changed between two revisions, per rule")
def revision_diff(
    served: ServedDep,
    from_revision: Annotated[int, Query(alias="from", ge=1)],
    to_revision: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    store = _editable(served).store
    before, after = revisions.graph_at(store, from_revision), revisions.graph_at(store, to_revision)
    found = diff.diff_graphs(before, after)
    return {"from": from_revision, "to": to_revision, "text": diff.render_text(found)} | found.to_dict()


@router.get("/audit", summary="The audit log: one record per accepted change, hash-chained")
def audit(served: ServedDep, _: Admin) -> list[dict[str, Any]]:
    return [r.to_dict() for r in revisions.log(_editable(served).store)]


@router.get("/audit/verify", summary="Recompute the audit log's hash chain")
def audit_verify(served: ServedDep, _: Admin) -> dict[str, Any]:
    problems = revisions.verify(_editable(served).store)
    return {"intact": not problems, "problems": problems}


async def _read_change(request: Request, base_optional: bool = False) -> RuleChange:
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


def _change(document: dict[str, Any]) -> RuleChange:
    """The change model, or a 422 naming the fields at fault: never their values, and without
    pydantic's error (its text repeats the input) attached to be logged."""
    try:
        return RuleChange.model_validate(document)
    except ValidationError as error:
        fields = sorted(
            {".".join(str(p) for p in e["loc"]) or "body" for e in error.errors(include_input=False)}
        )
    raise InvalidParameter("malformed or missing field: " + ", ".join(fields), fields[0])


def _propose(served: ServedGraph, change: RuleChange) -> Proposal:
    _editable(served)
    submitted = editing.parse_rule_turtle(change.rule)
    return editing.propose_addition(served.current(), submitted, date.today(), change.supersedes)


def _commit(served: ServedGraph, change: RuleChange, author: str, role: str) -> revisions.RevisionRecord:
    if change.base_revision > served.current().revision_number:  # another replica moved on
        served.reload()
    proposal = _propose(served, change)
    return editing.accept(served.store, proposal, author, role, change.reason, change.base_revision)


def _dry_run(served: ServedGraph, change: RuleChange) -> dict[str, Any]:
    proposal = _propose(served, change)
    encounters = (
        [encounter_from_json(e) for e in change.encounters] if change.encounters else sample_encounters()
    )
    questions = questions_from_cases(change.questions) if change.questions else sample_questions()
    changes = what_if(proposal.base, proposal.proposed, encounters, questions)
    return {
        "base_revision": proposal.base.revision_number,
        "would_be_accepted": not proposal.problems and not proposal.conflicts,
        "problems": proposal.problems,
        "conflicts": [editing.conflict_text(c) for c in proposal.conflicts],
        "rules": [str(r) for r in proposal.rules],
        "changes": [c.to_dict() for c in changes],
    }


def _reads_audit(request: Request, caller: Caller) -> bool:
    """Whether the caller may read who made a change and why (the audit log): admins only."""
    return allows(request.app.state.settings, caller, "admin")


def _editable(served: ServedGraph) -> ServedGraph:
    if not served.editable:
        raise StoreError("this service serves a fixed graph without revisions; editing is off")
    return served


def _writable(request: Request, served: ServedGraph) -> None:
    _editable(served)
    if not request.app.state.settings.editing:
        raise EditingOff("this replica takes no changes (PAYERKG_EDITING=false); send them to the writer")


def _record(served: ServedGraph, number: int) -> revisions.RevisionRecord:
    for record in revisions.log(_editable(served).store):
        if record.number == number:
            return record
    raise UnknownRevision(f"there is no revision {number}", "number")
