"""Validation routes: one encounter, a streamed NDJSON batch, and the published format."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from itertools import islice
from typing import ParamSpec, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import INTEGRATOR
from payerkg.api.deps import PolicyDep, SettingsDep, get_policy, get_settings
from payerkg.api.limits import batch_cap
from payerkg.api.problems import answered_as, problems_for
from payerkg.api.routers import resource_router
from payerkg.errors import NotAcceptable, TooLarge
from payerkg.jsondoc import JSONObject
from payerkg.media import FHIR_JSON, X12_MEDIA, negotiate
from payerkg.services import validation
from payerkg.services.validation import validate_batch
from payerkg.validation.encounter import (
    context_document,
    data_file,
    example_encounter,
    json_schema,
)
from payerkg.validation.formats.mapped import ClaimFileVerdict, MappedResult
from payerkg.validation.validate import Verdict

router = resource_router("validation")
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}
"""The published format (context, schema) is public: any web page may read it."""
VERDICT = "application/json"
INLINE_MAX_BYTES = 16 * 1024
"""An encounter up to this size is judged on the event loop: it takes a fraction of a millisecond
(docs/benchmarks.md), less than the hop to a worker thread and back. Larger ones go to a thread,
so that no request holds the loop for long."""
STREAM_CHUNK_LINES = 64
"""Records a batch's answer sends at a time: one hop to the validating thread per record cost more
than judging it (docs/benchmarks.md); 64 of them take a few milliseconds."""
REPORT_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld"}
"""The W3C SHACL report, for a client that asks for it by Accept; the verdict (JSON) is the default."""
ANSWER_TYPES = (VERDICT, FHIR_JSON, *REPORT_FORMATS)

OPERATION_OUTCOME_SCHEMA = {
    "type": "object",
    "description": "A FHIR R4 OperationOutcome: one issue per finding (docs/fhir.md)",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["error", "warning", "information"]},
                    "code": {"type": "string"},
                    "details": {"type": "object"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def document_claim_schemas(schema: JSONObject) -> JSONObject:
    """Adds the answer to a claim file (``ClaimFileVerdict``) to the OpenAPI components: /validate
    names it beside ``Verdict``, and FastAPI registers one model per status only."""
    generated = TypeAdapter(ClaimFileVerdict).json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in generated.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["ClaimFileVerdict"] = generated
    return schema


@functools.lru_cache(maxsize=64)
def _answer_type(accept: str) -> str | None:
    """What an Accept header asks /validate for: clients send the same few headers, and reading
    one took 2.5% of the route's time."""
    return negotiate(accept, ANSWER_TYPES)


P = ParamSpec("P")
T = TypeVar("T")


async def judged(size: int, judge: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``judge(...)`` on the event loop for a document of at most INLINE_MAX_BYTES, else in a thread."""
    if size <= INLINE_MAX_BYTES:
        return judge(*args, **kwargs)
    return await run_in_threadpool(judge, *args, **kwargs)


async def read_capped(request: Request, cap: int) -> bytes:
    """The request body, refused as soon as it passes ``cap`` bytes (Starlette sets no limit)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"the document is larger than {cap} bytes", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"the document is larger than {cap} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/validate",
    response_model=None,
    responses={
        200: {
            "description": "The verdict (JSON), or by Accept the W3C SHACL validation report",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Verdict"},
                            {"$ref": "#/components/schemas/ClaimFileVerdict"},
                        ]
                    }
                },
                "text/turtle": {"schema": {"type": "string"}},
                "application/ld+json": {"schema": {"type": "object"}},
                FHIR_JSON: {"schema": OPERATION_OUTCOME_SCHEMA},
            },
            "model": Verdict,
        },
        **problems_for(406, 413, 415),
    },
    dependencies=INTEGRATOR,
    summary="Validate one encounter against its payer's rules on its date of service",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema(), "example": example_encounter()},
                "application/ld+json": {"schema": {"type": "object"}},
                "text/turtle": {"schema": {"type": "string"}},
                FHIR_JSON: {"schema": {"type": "object", "description": "A FHIR R4 Bundle or Claim"}},
                X12_MEDIA: {
                    "schema": {"type": "string", "description": "An X12 837P 005010X222A1 interchange"}
                },
            },
        }
    },
)
async def validate(request: Request) -> Response:
    """A non-conforming encounter is a 200 with its findings; refused input is a 4xx problem.

    ``Accept: text/turtle`` or ``application/ld+json`` returns the W3C SHACL validation report,
    ``application/fhir+json`` an OperationOutcome (with FHIRPath expressions for a FHIR claim).
    """
    # Read here, not declared as header parameters: OpenAPI ignores parameters named Accept or
    # Content-Type (the request body and responses name the media types), and FastAPI's
    # per-parameter checks were a tenth of this route's time. The graph and the settings are
    # asked for here too, not declared as dependencies: FastAPI's solving of each took 1.5%.
    content_type = request.headers.get("content-type", VERDICT)
    media = _answer_type(request.headers.get("accept", VERDICT))
    if media is None:
        raise NotAcceptable("the answer can be sent as " + ", ".join(ANSWER_TYPES), "accept")
    policy, settings = await get_policy(request), await get_settings(request)
    limits = settings.encounter_limits()
    if validation.is_x12(content_type):  # a claim file: one verdict per claim and a summary
        cap = batch_cap(request, settings)
        x12 = await read_capped(request, cap)
        claims = await run_in_threadpool(validation.validate_x12, policy, x12, cap, limits)
        return JSONResponse(asdict(claims))
    body = await read_capped(request, limits.max_bytes)
    answer: MappedResult | None = None
    if validation.is_fhir(content_type):
        answer = await run_in_threadpool(validation.validate_fhir, policy, body, limits)
        result = answer.result
    else:
        result = await judged(len(body), validation.validate, policy, body, content_type, limits)
    if media == FHIR_JSON:
        from payerkg.validation.formats.fhir import operation_outcome  # FHIR's models: only when asked

        outcome = operation_outcome(answer, result)
        return JSONResponse(outcome, media_type=FHIR_JSON, headers={"Vary": "Accept"})
    if media in REPORT_FORMATS:
        report = result.report().serialize(format=REPORT_FORMATS[media])
        return Response(report, media_type=media, headers={"Vary": "Accept"})
    # orjson writes the verdict's dataclasses as JSONResponse writes their asdict(), byte for
    # byte, in a tenth of the time (tests/api/test_validate_api.py holds them equal).
    return Response(orjson.dumps(result.verdict()), media_type=VERDICT, headers={"Vary": "Accept"})


@router.post(
    "/validate/batch",
    response_model=None,
    response_class=StreamingResponse,
    responses=answered_as(
        "One result or error record per line, in the order of the lines",
        {"application/x-ndjson": {"type": "string"}},
    )
    | problems_for(413),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    },
    dependencies=INTEGRATOR,
    summary="Validate an NDJSON batch, streamed back as NDJSON",
)
async def validate_ndjson(request: Request, policy: PolicyDep, settings: SettingsDep) -> StreamingResponse:
    """One JSON encounter per line in; one result (or error record) per line out, as each is done."""
    body = await read_capped(request, batch_cap(request, settings))
    limits = settings.encounter_limits()

    def chunks() -> Iterator[bytes]:
        records = validate_batch(policy, body.splitlines(), limits)
        while chunk := list(islice(records, STREAM_CHUNK_LINES)):
            yield "".join(record.text + "\n" for record in chunk).encode()

    # A plain iterator is run in a worker thread, so validation never blocks the event loop; each
    # step is a hop to that thread and back, so a step sends several records.
    return StreamingResponse(chunks(), media_type="application/x-ndjson")


@router.get(
    "/encounter/context.jsonld",
    response_model=None,
    response_class=Response,
    responses=answered_as("The context", {"application/ld+json": {"type": "object"}}),
    summary="The JSON-LD context of the encounter format",
)
def encounter_context() -> Response:
    """Readable from any origin (CORS), so that JSON-LD processors in browsers can load it."""
    body = json.dumps(context_document(), indent=2)
    return Response(body, media_type="application/ld+json", headers=ANY_ORIGIN)


@router.get(
    "/encounter/schema.json",
    response_model=None,
    responses=answered_as("The JSON Schema", {"application/json": {"type": "object"}}),
    summary="The JSON Schema of the encounter format",
)
def encounter_schema() -> JSONResponse:
    return JSONResponse(json_schema(), headers=ANY_ORIGIN)


@router.get(
    "/encounter/example.json",
    response_model=None,
    responses=answered_as("An encounter", {"application/json": json_schema()}),
    summary="An example encounter",
)
def encounter_example() -> FileResponse:
    return FileResponse(data_file("encounter.example.json"), media_type="application/json")
