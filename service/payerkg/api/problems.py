"""Errors as application/problem+json, mapped from the domain errors in one place.

No problem body repeats a submitted value.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from payerkg.errors import (
    ContextNotAllowed,
    DataFileError,
    EditConflict,
    EditingOff,
    EditRefused,
    Forbidden,
    ForbiddenFeature,
    InvalidClaim,
    InvalidEncounter,
    InvalidHookRequest,
    InvalidParameter,
    InvalidQueryRequest,
    MalformedQuery,
    NotAcceptable,
    NotAuthenticated,
    ParseError,
    PayerKGError,
    QueryBusy,
    QueryTimeout,
    ResultTooLarge,
    StaleRevision,
    StoreError,
    TooDeep,
    TooLarge,
    TooManyRequests,
    UnknownCode,
    UnknownPayer,
    UnknownRevision,
    UnknownRule,
    UnknownService,
    UnsupportedFormat,
)
from payerkg.jsondoc import JSONObject

STATUS_BY_ERROR: dict[type[PayerKGError], int] = {
    InvalidParameter: 422,
    UnknownPayer: 404,
    UnknownCode: 404,
    UnknownRule: 404,
    UnknownRevision: 404,
    DataFileError: 422,
    TooLarge: 413,
    TooDeep: 422,
    UnsupportedFormat: 415,
    ParseError: 422,
    ContextNotAllowed: 422,
    InvalidEncounter: 422,
    InvalidClaim: 422,
    InvalidHookRequest: 422,
    UnknownService: 404,
    # SPARQL endpoint (docs/sparql.md): refusals are 400, limits 422 (result) and 503 (time, workers).
    InvalidQueryRequest: 400,
    MalformedQuery: 400,
    ForbiddenFeature: 400,
    NotAcceptable: 406,
    ResultTooLarge: 422,
    QueryTimeout: 503,
    QueryBusy: 503,
    TooManyRequests: 429,
    # Editing (docs/editing.md): a failed check is 422, a conflict or a stale base 409.
    EditRefused: 422,
    EditConflict: 409,
    StaleRevision: 409,
    StoreError: 503,
    EditingOff: 503,
    NotAuthenticated: 401,
    Forbidden: 403,
}


class Problem(BaseModel):
    """An error as ``application/problem+json`` (RFC 9457), with payerkg's stable ``code`` and,
    where the error is about one field, a ``pointer`` naming it. Never repeats a submitted value."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    pointer: str | None = None
    problems: list[str] | None = Field(default=None, description="Each check a refused change fails")


DESCRIPTIONS = {
    400: "Malformed request",
    401: "No or unknown API key",
    403: "The caller's role may not use this route",
    404: "Not found",
    406: "No acceptable result format",
    409: "Conflicts with an active rule version, or the base revision is stale",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid parameter or body",
    429: "Too many requests from this caller",
    503: "Busy, timed out, or the store is unavailable",
}
ALWAYS = (401, 403, 422, 429)
"""Every route may answer these: an unknown key, a role below the route's, a malformed parameter,
and too many requests from one caller at once (api/limits.py)."""


def problems_for(*statuses: int) -> dict[int | str, JSONObject]:
    """The OpenAPI ``responses`` of a route's problem answers: ``statuses`` and those in ALWAYS."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        status: {"description": DESCRIPTIONS[status], "model": Problem, "content": content}
        for status in sorted({*ALWAYS, *statuses})
    }


def answered_as(description: str, schemas: dict[str, JSONObject]) -> dict[int | str, JSONObject]:
    """The OpenAPI 200 response of a route that writes its own body: the schema per media type."""
    content = {media: {"schema": schema} for media, schema in schemas.items()}
    return {200: {"description": description, "content": content}}


def problem(status: int, code: str, detail: str, pointer: str | None = None, **extra: object) -> JSONResponse:
    body: dict[str, object] = {
        "type": f"https://w3id.org/payerkg/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if pointer:
        body["pointer"] = pointer
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def status_for(error: PayerKGError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(PayerKGError)
    async def domain_error(_: Request, error: PayerKGError) -> JSONResponse:
        extra = {"problems": error.problems} if isinstance(error, EditRefused) else {}
        response = problem(status_for(error), error.code, error.message, error.pointer, **extra)
        if isinstance(error, NotAuthenticated):
            response.headers["www-authenticate"] = 'Bearer realm="payerkg"'
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            response.headers["retry-after"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) or "body" for e in error.errors()})
        return problem(
            422,
            "invalid_parameter",
            "malformed or missing parameter: " + ", ".join(fields),
            fields[0] if fields else None,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        response = problem(error.status_code, code, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        if error.status_code == 405:
            response.headers["allow"] = ", ".join(allowed_methods(request))
        return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at the request's path (Starlette names the first route's only),
    and HEAD wherever GET is (api/head.py)."""
    methods = _methods_at(request.app.router.routes, request.url.path)
    return sorted(methods | {"HEAD"} if "GET" in methods else methods)


def _methods_at(routes: Sequence[BaseRoute], path: str, prefix: str = "") -> set[str]:
    methods: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers nested
        if included is not None:
            inner = prefix + getattr(getattr(route, "include_context", None), "prefix", "")
            methods |= _methods_at(included.routes, path, inner)
            continue
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and path.startswith(prefix) and pattern.match(path[len(prefix) :]):
            methods |= getattr(route, "methods", None) or set()
    return methods
