"""Rendering: the Jinja2 environment (autoescaped, strict), the pages' security headers, and the
HTML error page every page route answers with instead of a problem document."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, Response

from payerkg import __version__
from payerkg.api.problems import status_for
from payerkg.errors import NotAuthenticated, PayerKGError

PAGES_TAG = "pages"
"""The tag of every page route: their errors are pages too."""
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""The pages load their own style sheet and nothing else, and run no script."""
STATIC = {"web.css": "text/css; charset=utf-8"}
"""The files served under /static/."""

_environment = Environment(
    loader=PackageLoader("payerkg.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["version"] = __version__
_environment.filters["local"] = lambda iri: str(iri).rsplit("/", 1)[-1]


def render(name: str, **context: Any) -> str:
    """A template rendered, every value escaped."""
    return _environment.get_template(name).render(**context)


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered as a page with the pages' Content-Security-Policy."""
    response = HTMLResponse(render(name, **context), status_code=status_code)
    response.headers["content-security-policy"] = PAGE_POLICY
    response.headers["x-content-type-options"] = "nosniff"
    return response


def static_file(name: str) -> bytes | None:
    """A file of ``static/`` by its name, or None if it is not one the pages serve."""
    if name not in STATIC:
        return None
    return (resources.files("payerkg.web") / "static" / name).read_bytes()


def error_page(status: int, code: str, message: str, pointer: str | None = None) -> HTMLResponse:
    """A readable error: the status, the API's stable code, what was wrong and which field."""
    return page("error.html", status, status=status, code=code, message=message, pointer=pointer)


def is_page(request: Request) -> bool:
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and PAGES_TAG in route.tags


def install_error_pages(app: FastAPI) -> None:
    """Answer a page route's errors (a missing key, an undeclared parameter, a domain error) as an
    HTML page with the same status and code the API gives; every other route keeps its problem
    documents."""
    problem_for_domain = app.exception_handlers[PayerKGError]
    problem_for_request = app.exception_handlers[RequestValidationError]

    @app.exception_handler(PayerKGError)
    async def domain_error(request: Request, error: PayerKGError) -> Response:
        if not is_page(request):
            return await _answered(problem_for_domain(request, error))
        response = error_page(status_for(error), error.code, error.message, error.pointer)
        if isinstance(error, NotAuthenticated):
            response.headers["www-authenticate"] = 'Bearer realm="payerkg"'
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if not is_page(request):
            return await _answered(problem_for_request(request, error))
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) or "request" for e in error.errors()})
        return error_page(422, "invalid_parameter", "malformed or missing: " + ", ".join(fields), fields[0])


async def _answered(response: Response | Awaitable[Response]) -> Response:
    return await response if inspect.isawaitable(response) else response
