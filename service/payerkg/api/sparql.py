"""The read-only SPARQL 1.1 Protocol endpoint, and a plain query page for browsers.

The route only parses the protocol request and negotiates formats; payerkg.sparql_endpoint.query checks
and runs the query in a killable worker. Waiting happens off the event loop (an async wait for a
worker slot, then a thread), so other requests stay responsive while a query runs.
"""

from __future__ import annotations

import html
import json
import time
from importlib import resources
from string import Template
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from rdflib import Dataset
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep, SettingsDep
from payerkg.api.limits import caller_of, query_workers
from payerkg.api.problems import problems_for
from payerkg.api.query_params import REFUSED_BY_ROUTE
from payerkg.api.routers import resource_router
from payerkg.api.validation import read_capped
from payerkg.errors import (
    ForbiddenFeature,
    InvalidQueryRequest,
    TooLarge,
    UnsupportedFormat,
)
from payerkg.graph.dataset import PolicyGraph
from payerkg.jsondoc import JSONObject
from payerkg.media import negotiate
from payerkg.settings import Settings
from payerkg.sparql_endpoint.formats import (
    FORMAT_PARAMETERS,
    GRAPH_FORMATS,
    SPARQL_JSON,
    TABULAR_FORMATS,
    TURTLE,
    accept_from_format_names,
)
from payerkg.sparql_endpoint.query import Answer, PolicyGraphs, ServedGraphs, example_queries, run_query

router = resource_router("sparql")

DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri")
HTML_TYPES = ("text/html", "application/xhtml+xml")
PAGE_FORMATS = f"{SPARQL_JSON}, {TURTLE}"
"""What the query page shows a result in: a table for SELECT and ASK, Turtle for graphs."""
FORM = "application/x-www-form-urlencoded"
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""The query page loads nothing from anywhere and runs no script."""

PROBLEM: JSONObject = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _parameter(name: str, description: str, repeatable: bool = False) -> JSONObject:
    schema: JSONObject = {"type": "array", "items": {"type": "string"}} if repeatable else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PROTOCOL_PARAMETERS = [
    _parameter("query", "The SPARQL query (exactly one: two are a 400 invalid_request)")
    | {REFUSED_BY_ROUTE: True},
    _parameter("update", "Refused: the endpoint only reads (400 forbidden_feature)"),
    *(
        _parameter(name, "Refused when not empty: the endpoint answers from its own graph", repeatable=True)
        for name in DATASET_PARAMETERS
    ),
    *(
        _parameter(
            name,
            "A result format by name (xml, json, csv, tsv, turtle, n3, rdf+xml, json-ld) or media type, "
            "as other SPARQL servers read it; when given, it decides instead of the Accept header",
            repeatable=True,
        )
        for name in FORMAT_PARAMETERS
    ),
]
"""The protocol's URL parameters: the route reads them itself, and refuses any other."""
RESPONSES: dict[int | str, JSONObject] = {
    200: {
        "description": "The result, in the negotiated format",
        "content": {
            media: {"schema": {"type": "object" if "json" in media else "string"}}
            for media in (*TABULAR_FORMATS, *GRAPH_FORMATS, "text/html")
        },
    },
    **problems_for(),
    400: {"description": "malformed_query, forbidden_feature or invalid_request", "content": PROBLEM},
    406: {"description": "not_acceptable: no accepted format fits the query form", "content": PROBLEM},
    413: {"description": "too_large: the query text is over the size limit", "content": PROBLEM},
    415: {
        "description": "unsupported_format: wrong media type or a charset other than UTF-8",
        "content": PROBLEM,
    },
    422: {"description": "result_too_large: more rows than allowed; nothing is cut", "content": PROBLEM},
    429: {
        "description": "too_many_requests: the caller already holds its share of query workers (Retry-After)",
        "content": PROBLEM,
    },
    503: {
        "description": "query_timeout (stopped at the time limit) or busy (every worker taken; Retry-After)",
        "content": PROBLEM,
    },
}


@router.get(
    "/sparql",
    response_model=None,
    response_class=Response,
    responses=RESPONSES,
    dependencies=READER,
    summary="SPARQL 1.1 query (read-only); the query page for a browser when no query is given",
    openapi_extra={
        "parameters": [*PROTOCOL_PARAMETERS, _parameter("example", "Query page: show this example query")]
    },
)
async def sparql_get(request: Request, policy: PolicyDep, settings: SettingsDep) -> Response:
    """``query=`` in the URL; without one, a browser gets the query page."""
    params = list(request.query_params.multi_items())
    accept = request.headers.get("accept", "")
    if not any(name in ("query", "update") for name, _ in params) and _prefers_html(accept):
        examples = {example.name: example.text for example in example_queries()}
        chosen = request.query_params.get("example", "")
        return _page(request, settings, policy.revision, query=examples.get(chosen, ""))
    return await _answer(request, policy, settings, params, accept)


@router.post(
    "/sparql",
    response_model=None,
    response_class=Response,
    responses=RESPONSES,
    dependencies=READER,
    summary="SPARQL 1.1 query (read-only) by URL-encoded form or application/sparql-query",
    openapi_extra={
        "parameters": PROTOCOL_PARAMETERS,
        "requestBody": {
            "required": True,
            "content": {
                FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
                "application/sparql-query": {"schema": {"type": "string"}},
            },
        },
    },
)
async def sparql_post(request: Request, policy: PolicyDep, settings: SettingsDep) -> Response:
    """A query in a URL-encoded form or as the body; updates are refused (the endpoint only reads)."""
    media, charset = _content_type(request.headers.get("content-type", ""))
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedFormat("the query must be UTF-8", "content-type")
    if media == "application/sparql-update":
        raise ForbiddenFeature("update is not allowed: the endpoint only reads", "update")
    if media not in (FORM, "application/sparql-query"):
        raise UnsupportedFormat(f"send the query as {FORM} or application/sparql-query", "content-type")
    body = _utf8(await read_capped(request, settings.sparql_max_query_bytes))
    params = list(request.query_params.multi_items())
    if media == FORM:
        params += parse_qsl(body, keep_blank_values=True)
    else:
        params.append(("query", body))
    return await _answer(request, policy, settings, params, request.headers.get("accept", ""))


async def _answer(
    request: Request,
    policy: PolicyGraph,
    settings: Settings,
    params: list[tuple[str, str]],
    accept: str,
) -> Response:
    deadline = time.monotonic() + settings.sparql_timeout_s
    text = _query_text(params, settings)
    named = accept_from_format_names([value for name, value in params if name in FORMAT_PARAMETERS])
    as_page = named is None and _prefers_html(accept)
    # Format parameters first; a name that does not fit the query form leaves the Accept header to decide.
    headers = [PAGE_FORMATS] if as_page else [named, accept] if named else [accept]
    base = str(request.url_for("sparql_get"))
    answer = await _run(request, policy, settings, text, headers, base, deadline)
    if as_page:
        return _page(request, settings, policy.revision, query=text, answer=answer)
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


def _query_text(params: list[tuple[str, str]], settings: Settings) -> str:
    """The one query of a protocol request, after refusing updates and dataset parameters."""
    if any(name == "update" for name, _ in params):
        raise ForbiddenFeature("update is not allowed: the endpoint only reads", "update")
    for parameter in DATASET_PARAMETERS:
        if any(name == parameter and value.strip() for name, value in params):
            raise ForbiddenFeature(
                f"{parameter} is not allowed: the endpoint answers from its own graph only", parameter
            )
    queries = [value for name, value in params if name == "query"]
    if not queries:
        raise InvalidQueryRequest("no query given: pass query= or POST application/sparql-query", "query")
    if len(queries) > 1:
        raise InvalidQueryRequest("a request carries exactly one query", "query")
    if len(queries[0].encode("utf-8")) > settings.sparql_max_query_bytes:
        raise TooLarge(f"the query is longer than {settings.sparql_max_query_bytes} bytes", "query")
    return queries[0]


async def _run(
    request: Request,
    policy: PolicyGraph,
    settings: Settings,
    text: str,
    accept: list[str],
    base: str,
    deadline: float,
) -> Answer:
    """Take a worker (a fair share per caller, no long wait: api/limits.py), then run the query
    in a thread (building the revision's graphs there too, the first time)."""
    caller, _ = caller_of(request.scope)
    async with query_workers(request, settings).slot(caller, deadline, settings.sparql_queue_wait_s):
        return await run_in_threadpool(
            lambda: run_query(
                _served(policy, settings), text, accept, settings.query_limits(), base, deadline
            )
        )


def warm_up(policy: PolicyGraph, settings: Settings) -> None:
    """Build a revision's query graphs (with pyoxigraph's copy) when it is loaded, so that no
    query waits for them; for a store too large to read whole up front, at the first query."""
    if policy.store.bulk_reads:
        _served(policy, settings)


def _served(policy: PolicyGraph, settings: Settings) -> Dataset | ServedGraphs:
    """The graphs the endpoint answers from (no audit records), built once per revision: with
    their pyoxigraph copy, unless the service is set to evaluate with rdflib."""
    graphs = policy.view(PolicyGraphs)
    return graphs.dataset if settings.sparql_engine == "rdflib" else graphs.served()


def _prefers_html(accept: str) -> bool:
    """Whether the client prefers the page to every result format (``*/*`` alone is not a browser)."""
    return negotiate(accept, [*TABULAR_FORMATS, *GRAPH_FORMATS, *HTML_TYPES]) in HTML_TYPES


def _content_type(header: str) -> tuple[str, str | None]:
    media, *parameters = (field.strip() for field in header.split(";"))
    charset = None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsupportedFormat("the query must be UTF-8", "body") from None


_PAGE = Template((resources.files("payerkg.api") / "sparql_page.html").read_text(encoding="utf-8"))


def _page(
    request: Request, settings: Settings, revision: str, query: str = "", answer: Answer | None = None
) -> HTMLResponse:
    """The query page: a form, the example queries, and the answer to the submitted query."""
    examples = "\n".join(
        f'<li><a href="?example={quote(example.name)}">{html.escape(example.title)}</a>'
        f"<details><summary>show</summary><pre>{html.escape(example.text)}</pre></details></li>"
        for example in example_queries()
    )
    body = _PAGE.substitute(
        revision=html.escape(revision),
        timeout=f"{settings.sparql_timeout_s:g}",
        rows=settings.sparql_max_rows,
        examples=examples,
        query=html.escape(query),
        endpoint=html.escape(str(request.url_for("sparql_get"))),
        results=_results_html(answer) if answer else "",
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": PAGE_POLICY, "Vary": "Accept"})


def _results_html(answer: Answer) -> str:
    if answer.media_type != SPARQL_JSON:
        return f"<h2>Result</h2><pre>{html.escape(answer.body.decode('utf-8'))}</pre>"
    data = json.loads(answer.body)
    if "boolean" in data:
        return f"<h2>Result</h2><p><strong>{str(data['boolean']).lower()}</strong></p>"
    variables = data["head"]["vars"]
    rows = data["results"]["bindings"]
    head = "".join(f"<th>{html.escape(v)}</th>" for v in variables)
    cells = "".join(
        "<tr>" + "".join(f"<td>{_cell(row, v)}</td>" for v in variables) + "</tr>" for row in rows
    )
    return f"<h2>Result: {len(rows)} rows</h2><table><tr>{head}</tr>{cells}</table>"


def _cell(row: dict[str, dict[str, str]], variable: str) -> str:
    return html.escape(row.get(variable, {}).get("value", ""))
