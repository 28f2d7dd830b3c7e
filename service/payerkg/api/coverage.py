"""Coverage routes: one question, the payers x codes matrix, the conflicts and the review list.

The values a facet takes (modality, patient status, ...) come from the graph's vocabularies: the
routes take them as text, the domain refuses an unknown value with the list of known ones, and the
OpenAPI document lists them (``document_facet_values``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep, ServedDep
from payerkg.api.problems import problems_for
from payerkg.api.routers import resource_router
from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion
from payerkg.coverage.conflicts import GraphConflict
from payerkg.coverage.matrix import Matrix
from payerkg.editing.review import ReviewEntry
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.facets import by_name
from payerkg.jsondoc import JSONObject
from payerkg.services import coverage

router = resource_router("coverage")
MAX_MATRIX_CODES = 40


def _facet(name: str, example: str) -> Any:
    return Query(max_length=64, description=f"The {by_name(name).words}", examples=[example])


@router.get("/coverage", dependencies=READER, response_model=CoverageAnswer, responses=problems_for(404))
async def get_coverage(
    policy: PolicyDep,
    served: ServedDep,
    code: Annotated[str, Query(max_length=8, description="CPT or HCPCS code", examples=["99213"])],
    date_of_service: Annotated[
        date, Query(alias="date", description="Date of service", examples=["2024-03-15"])
    ],
    payer: Annotated[
        str | None, Query(max_length=64, description="Payer id (or give state)", examples=["medicare"])
    ] = None,
    state: Annotated[
        str | None,
        Query(
            max_length=2,
            description="A state's postal code, for a fully insured plan in that state whose payer id "
            "is not known: answered from the state's telehealth law (instead of payer)",
            examples=["TX"],
        ),
    ] = None,
    modality: Annotated[str | None, _facet("modality", "audio-video")] = None,
    patient_status: Annotated[str | None, _facet("patient_status", "established")] = None,
    patient_location: Annotated[str | None, _facet("patient_location", "home")] = None,
    rural: Annotated[bool | None, Query(description="Patient site rural as the law defines it")] = None,
    aco_assigned: Annotated[
        bool | None, Query(description="Patient assigned to a Shared Savings Program ACO with the waiver")
    ] = None,
    practitioner_type: Annotated[str | None, _facet("practitioner_type", "physician")] = None,
    purpose: Annotated[str | None, _facet("purpose", "mental-health")] = None,
    as_of: Annotated[
        date | None, Query(description="Answer with what was known on this date", examples=["2025-10-20"])
    ] = None,
    at_revision: Annotated[
        str | None,
        Query(
            max_length=10,
            description="Answer exactly as the service did at this graph revision (a number), or at the "
            "revision in force on a date (YYYY-MM-DD, then also the as-of date); 404 if unknown",
            examples=["1"],
        ),
    ] = None,
) -> Response:
    """What the payer requires for the code on the date of service, and why."""

    def answer() -> CoverageAnswer:
        question = CoverageQuestion(
            payer=coverage.payer_for(policy, payer, state),
            code=code,
            date_of_service=date_of_service,
            modality=modality,
            patient_status=patient_status,
            patient_location=patient_location,
            rural=rural,
            aco_assigned=aco_assigned,
            practitioner_type=practitioner_type,
            purpose=purpose,
            as_of=as_of,
        )
        if at_revision is not None:
            return coverage.ask_at_revision(served, question, at_revision)
        return coverage.ask(policy, question)

    # From a rule model read whole, an answer takes a fraction of a millisecond: on the event loop.
    # A past revision (loaded from the store) or a store read per (payer, code) when first asked (a
    # query, or a round trip to a SPARQL server) would hold every other request: off the loop,
    # where concurrent questions are answered side by side.
    if at_revision is None and coverage.answered_in_memory(policy):
        found = answer()
    else:
        found = await run_in_threadpool(answer)
    # orjson writes the answer's dataclasses as FastAPI writes them after checking them against
    # response_model, byte for byte (tests/api/test_api.py), without the check's copy.
    return Response(orjson.dumps(found), media_type="application/json")


@router.get(
    "/matrix",
    dependencies=READER,
    response_model=Matrix,
    responses=problems_for(),
    summary="Coverage matrix: payers x codes on one date",
)
def get_matrix(
    policy: PolicyDep,
    date_of_service: Annotated[date, Query(alias="date", examples=["2025-06-01"])],
    codes: Annotated[str | None, Query(max_length=400, description="Comma-separated codes")] = None,
    as_of: Annotated[date | None, Query()] = None,
) -> Matrix:
    """Each cell links the rule versions that decide it; `unknown` where no rule answers."""
    return coverage.matrix(policy, date_of_service, codes, as_of, MAX_MATRIX_CODES)


@router.get(
    "/conflicts",
    dependencies=READER,
    response_model=list[GraphConflict],
    responses=problems_for(),
    summary="Conflicts: rules for one payer and code that disagree over shared dates",
)
def get_conflicts(policy: PolicyDep, as_of: Annotated[date | None, Query()] = None) -> list[GraphConflict]:
    """Both sides of each conflict, with their evidence levels and sources (computed once per revision)."""
    return coverage.conflicts(policy, as_of)


@router.get(
    "/review",
    tags=["catalog"],
    dependencies=READER,
    response_model=list[ReviewEntry],
    responses=problems_for(404),
)
def get_review(
    policy: PolicyDep,
    payer: Annotated[str | None, Query(max_length=64, description="Only this payer's versions")] = None,
    older_than: Annotated[
        str | None,
        Query(max_length=8, description="Only versions last reviewed longer ago, e.g. 12m, 90d, 2y"),
    ] = None,
) -> list[ReviewEntry]:
    """Rule versions oldest review first, with evidence level and sources."""
    return coverage.review(policy, payer, older_than)


def document_facet_values(schema: JSONObject, policy: PolicyGraph) -> JSONObject:
    """The OpenAPI document with each facet parameter of ``/coverage`` listing the values the
    served graph knows (its enum), read from the graph rather than written here."""
    values = coverage.facet_values(policy)
    for parameter in schema.get("paths", {}).get("/coverage", {}).get("get", {}).get("parameters", []):
        known = values.get(parameter["name"])
        if known:
            parameter["schema"] = {"anyOf": [{"type": "string", "enum": known}, {"type": "null"}]}
    return schema
