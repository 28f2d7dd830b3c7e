"""The editor's pages (``/edit``): sign in with an API key, check a proposed rule (its problems,
conflicts and what-if), submit it with a reason, and (admins) roll a revision back and read the
audit log with its chain status. ``/edit/new`` proposes a rule version from a form whose choices
all come from the graph: its preview shows the Turtle the form makes with the same check, and
its submit goes the same way as a rule document's.

Signing in keeps the key on the server in a session named by a random cookie (HttpOnly,
SameSite=Strict, Secure except on a loopback address over plain HTTP), so the key is not kept in
the browser; every form carries the session's CSRF token, and a post from another origin is refused.
The key is looked up again on every request, so a revoked key signs its sessions out. A request that
carries an API key itself (``Authorization``) is judged by that key, as the API judges it: a
browser never adds that header by itself, so such a request cannot be forged across sites.
The role checks are the API's: a reader or integrator sees no edit controls, and their posts are
refused whatever a page showed."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import FormParser

from payerkg.access import reaches
from payerkg.api.auth import Caller, identify, key_ring, presented_key
from payerkg.api.deps import ServedDep
from payerkg.api.problems import status_for
from payerkg.api.routers import resource_router
from payerkg.api.validation import read_capped
from payerkg.editing.rule_form import FieldError
from payerkg.errors import (
    EditingOff,
    EditRefused,
    Forbidden,
    InvalidParameter,
    NotAuthenticated,
    PayerKGError,
)
from payerkg.graph.served import ServedGraph
from payerkg.services import editing
from payerkg.services.editing import RuleChange
from payerkg.web.rendering import PAGES_TAG, page

router = resource_router(PAGES_TAG, include_in_schema=False)
COOKIE = "payerkg_editor"
SESSION_S = 8 * 3600
MAX_SESSIONS = 1_000
MAX_FORM_BYTES = 256 * 1024 + 8 * 1024
"""The API's largest rule document, and room for the form's other fields."""
MAX_FIELDS = 10
MAX_RULE_FORM_FIELDS = 1_000
"""A rule form sends one field per chosen value (codes groups, modifiers, ...)."""
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Session:
    key: str
    csrf: str
    expires: float


class Sessions:
    """Signed-in editors of this process: bounded, oldest dropped first, each for SESSION_S."""

    def __init__(self) -> None:
        self.by_id: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()

    def open(self, key: str) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(key, secrets.token_urlsafe(32), time.monotonic() + SESSION_S)
        with self.lock:
            self.by_id[session_id] = session
            while len(self.by_id) > MAX_SESSIONS:
                self.by_id.popitem(last=False)
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        with self.lock:
            session = self.by_id.get(session_id)
            if session is not None and session.expires < time.monotonic():
                del self.by_id[session_id]
                return None
            return session

    def close(self, session_id: str) -> None:
        with self.lock:
            self.by_id.pop(session_id, None)


@dataclass(frozen=True)
class Visitor:
    """Who is at the page: the caller (anonymous if nobody signed in) and the session's token."""

    caller: Caller
    csrf: str
    session_id: str | None

    def may(self, minimum: str) -> bool:
        return reaches((self.caller.role,), minimum)


@router.get("/edit")
def edit_page(request: Request, served: ServedDep) -> Response:
    """The sign-in form; for a signed-in editor the proposal form; for other roles, a page that
    says their key cannot edit (no controls)."""
    visitor = visitor_of(request)
    return _edit_page(request, served, visitor)


@router.post("/edit/sign-in")
async def sign_in(request: Request, served: ServedDep) -> Response:
    _same_origin(request)
    form = await _form(request)
    key = str(form.get("key") or "").strip()
    visitor = Visitor(Caller("anonymous", "anonymous"), "", None)
    if not key:
        return _edit_page(
            request, served, visitor, 422, errors={"key": "give your API key (invalid_parameter)"}
        )
    if key_ring(request.app.state).lookup(key) is None:
        message = "the API key is not valid (not_authenticated)"
        return _edit_page(request, served, visitor, 401, errors={"key": message})
    session_id, _ = _sessions(request).open(key)
    response = RedirectResponse("/edit", status_code=303)
    secure = request.url.scheme == "https" or request.url.hostname not in LOOPBACK
    response.set_cookie(
        COOKIE, session_id, max_age=SESSION_S, path="/", httponly=True, samesite="strict", secure=secure
    )
    return response


@router.post("/edit/sign-out")
async def sign_out(request: Request) -> Response:
    visitor = visitor_of(request)
    if visitor.session_id is not None:  # without a session there is nothing to end
        await _posting(request, "reader")
        _sessions(request).close(visitor.session_id)
    response = RedirectResponse("/edit", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/edit/check")
async def check(request: Request, served: ServedDep) -> Response:
    """The proposal's problems, conflicts and what-if, nothing applied."""
    visitor = await _posting(request, "editor")
    form = request.state.edit_form
    rule, supersedes = str(form.get("rule") or ""), form.get("supersedes") == "on"
    try:
        base = editing.editable(served).current()
        dry = await run_in_threadpool(editing.dry_run, base, rule, supersedes)
    except PayerKGError as error:
        return _edit_page(request, served, visitor, status_for(error), form=form, errors=_error(error))
    return _edit_page(request, served, visitor, form=form, dry_run=dry)


@router.post("/edit/submit")
async def submit(request: Request, served: ServedDep) -> Response:
    """The proposal checked and stored as a new revision, with its reason."""
    visitor = await _posting(request, "editor")
    form = request.state.edit_form
    try:
        _writable(request, served)
        change = RuleChange(
            str(form.get("rule") or ""),
            _reason(form),
            _number(form, "base_revision"),
            form.get("supersedes") == "on",
        )
        committed = await run_in_threadpool(
            editing.commit, served, change, visitor.caller.name, visitor.caller.role
        )
    except PayerKGError as error:
        return _edit_page(request, served, visitor, status_for(error), form=form, errors=_error(error))
    return _edit_page(request, served, visitor, committed=committed)


@router.post("/edit/rollback")
async def rollback(request: Request, served: ServedDep) -> Response:
    """A new revision without what revision ``number`` added (admins)."""
    visitor = await _posting(request, "admin")
    form = request.state.edit_form
    try:
        _writable(request, served)
        committed = await run_in_threadpool(
            editing.roll_back,
            served,
            _number(form, "number"),
            visitor.caller.name,
            visitor.caller.role,
            _reason(form),
            _number(form, "base_revision"),
        )
    except PayerKGError as error:
        return _edit_page(request, served, visitor, status_for(error), errors=_error(error, "rollback"))
    return _edit_page(request, served, visitor, committed=committed)


@router.get("/edit/new")
def new_rule_page(request: Request, served: ServedDep) -> Response:
    """The rule form (editors): every choice from the graph and the facet registry."""
    visitor = _admitted(visitor_of(request), "editor")
    return _rule_form_page(request, served, visitor)


@router.post("/edit/new/preview")
async def preview_rule(request: Request, served: ServedDep) -> Response:
    """The Turtle a rule form makes, with its problems, conflicts and what-if; nothing applied."""
    visitor = await _posting(request, "editor", MAX_RULE_FORM_FIELDS)
    form: FormData = request.state.edit_form
    base = editing.editable(served).current()
    draft = await run_in_threadpool(editing.rule_from_form, base, _values(form))
    if draft.rule is None:
        return _rule_form_page(request, served, visitor, 422, form, _field_errors(draft.errors))
    try:
        dry = await run_in_threadpool(editing.dry_run, base, draft.rule, form.get("supersedes") == "on")
    except PayerKGError as error:
        status = status_for(error)
        return _rule_form_page(request, served, visitor, status, form, _error(error), turtle=draft.rule)
    return _rule_form_page(request, served, visitor, form=form, turtle=draft.rule, dry_run=dry)


@router.post("/edit/new/submit")
async def submit_rule(request: Request, served: ServedDep) -> Response:
    """The rule a form makes, checked and stored as a new revision with its reason."""
    visitor = await _posting(request, "editor", MAX_RULE_FORM_FIELDS)
    form: FormData = request.state.edit_form
    turtle: str | None = None
    try:
        _writable(request, served)
        draft = await run_in_threadpool(editing.rule_from_form, served.current(), _values(form))
        if draft.rule is None:
            return _rule_form_page(request, served, visitor, 422, form, _field_errors(draft.errors))
        turtle = draft.rule
        change = RuleChange(
            turtle, _reason(form), _number(form, "base_revision"), form.get("supersedes") == "on"
        )
        committed = await run_in_threadpool(
            editing.commit, served, change, visitor.caller.name, visitor.caller.role
        )
    except PayerKGError as error:
        status = status_for(error)
        return _rule_form_page(request, served, visitor, status, form, _error(error), turtle=turtle)
    return _rule_form_page(request, served, visitor, committed=committed)


def _rule_form_page(
    request: Request,
    served: ServedGraph,
    visitor: Visitor,
    status: int = 200,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    **shown: object,
) -> Response:
    head = served.current()
    committed = shown.get("committed")
    return page(
        "rule_form.html",
        status,
        visitor=visitor,
        editable=served.editable and request.app.state.settings.editing,
        head=head.revision_number,
        revision=head.revision,
        choices=editing.rule_form_choices(head) if committed is None else None,
        values=_values(form) if form is not None else {},
        errors=errors or {},
        turtle=shown.get("turtle"),
        dry_run=shown.get("dry_run"),
        committed=committed,
    )


def _values(form: FormData) -> dict[str, list[str]]:
    """Each field's values as sent (a multiple choice sends one per value)."""
    return {name: [str(v) for v in form.getlist(name)] for name in dict.fromkeys(form.keys())}


def _field_errors(errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        shown = f"{error.message} ({error.code})"
        found[error.field] = f"{found[error.field]}; {shown}" if error.field in found else shown
    return found


def _edit_page(
    request: Request,
    served: ServedGraph,
    visitor: Visitor,
    status: int = 200,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    **shown: object,
) -> Response:
    head = served.current()
    records = editing.revision_log(served, audit=False)[-20:][::-1] if served.editable else []
    audit = audit_check = None
    if served.editable and visitor.may("admin"):  # who changed what and why: admins only
        audit, audit_check = editing.audit_log(served)[-20:][::-1], editing.verify_audit(served)
    values = {name: str(form.get(name) or "") for name in ("rule", "reason", "supersedes")} if form else {}
    return page(
        "edit.html",
        status,
        visitor=visitor,
        editable=served.editable and request.app.state.settings.editing,
        head=head.revision_number,
        revision=head.revision,
        records=records,
        values=values,
        errors=errors or {},
        audit=audit,
        audit_check=audit_check,
        dry_run=shown.get("dry_run"),
        committed=shown.get("committed"),
    )


def visitor_of(request: Request) -> Visitor:
    """The caller by its API key header, else by its session cookie, else anonymous."""
    if presented_key(request.headers.get("authorization", ""), request.headers.get("x-api-key", "")):
        return Visitor(identify(request), "", None)
    session_id = request.cookies.get(COOKIE, "")
    session = _sessions(request).get(session_id) if session_id else None
    if session is None:
        return Visitor(Caller("anonymous", "anonymous"), "", None)
    found = key_ring(request.app.state).lookup(session.key)
    if found is None:  # the key was revoked: so is the session
        _sessions(request).close(session_id)
        return Visitor(Caller("anonymous", "anonymous"), "", None)
    role, name = found
    return Visitor(Caller(name, role), session.csrf, session_id)


async def _posting(request: Request, minimum: str, max_fields: int = MAX_FIELDS) -> Visitor:
    """The visitor of a post, refused unless their role reaches ``minimum``; a post by session
    must come from this origin and carry the session's CSRF token."""
    visitor = visitor_of(request)
    request.state.edit_form = form = await _form(request, max_fields)
    if visitor.session_id is not None:
        _same_origin(request)
        sent = str(form.get("csrf") or "")
        if not hmac.compare_digest(sent.encode(), visitor.csrf.encode()):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
    return _admitted(visitor, minimum)


def _admitted(visitor: Visitor, minimum: str) -> Visitor:
    if visitor.caller.role == "anonymous":
        raise NotAuthenticated("sign in with an API key at /edit first")
    if not visitor.may(minimum):
        raise Forbidden(f"this needs the {minimum} role or above")
    return visitor


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise Forbidden("a form posted from another site is refused")


async def _form(request: Request, max_fields: int = MAX_FIELDS) -> FormData:
    body = await read_capped(request, MAX_FORM_BYTES)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return FormData()
    return await FormParser(
        request.headers, stream(), max_fields=max_fields, max_part_size=MAX_FORM_BYTES
    ).parse()


def _sessions(request: Request) -> Sessions:
    state = request.app.state
    found: Sessions | None = getattr(state, "editor_sessions", None)
    if found is None:
        found = Sessions()
        state.editor_sessions = found
    return found


def _reason(form: FormData) -> str:
    reason = str(form.get("reason") or "").strip()
    if not 3 <= len(reason) <= 2_000 or "\x00" in reason:
        raise InvalidParameter("give a reason of 3 to 2,000 characters", "reason")
    return reason


def _number(form: FormData, name: str) -> int:
    value = str(form.get(name) or "")
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise InvalidParameter(f"{name} must be a revision number", name)
    return int(value)


def _writable(request: Request, served: ServedGraph) -> None:
    editing.editable(served)
    if not request.app.state.settings.editing:
        raise EditingOff("this replica takes no changes (PAYERKG_EDITING=false); send them to the writer")


def _error(error: PayerKGError, default: str = "rule") -> dict[str, str]:
    message = f"{error.message} ({error.code})"
    if isinstance(error, EditRefused) and error.problems:
        message += ": " + "; ".join(error.problems)
    field = error.pointer if error.pointer in ("reason", "base_revision", "number") else default
    return {field: message}
