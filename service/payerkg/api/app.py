"""The FastAPI application, built by a factory from typed settings."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from payerkg import __version__
from payerkg.api import editing, matrix, problems, sparql, validation
from payerkg.api.access_log import AccessLog
from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep
from payerkg.api.query_params import check_query_parameters
from payerkg.coverage.answer import CoverageAnswer, CoverageQuestion, coverage
from payerkg.editing import revisions
from payerkg.editing.review import ReviewEntry, parse_age, rule_reviews
from payerkg.errors import InvalidParameter, StoreError
from payerkg.graph import catalog
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.queries import prepare_all
from payerkg.graph.rules import rule_model
from payerkg.graph.served import ServedGraph
from payerkg.settings import Settings
from payerkg.stores import Store

Modality = Literal[
    "audio-video", "audio-only", "asynchronous", "remote-monitoring", "interprofessional", "in-person"
]


def create_app(
    settings: Settings | None = None, policy: PolicyGraph | None = None, store: Store | None = None
) -> FastAPI:
    """Build the app over the configured store (seeded from the shipped files if empty), over
    ``store``, or over a fixed ``policy`` graph served read-only."""
    settings = settings or Settings()
    prepare_all()
    if policy is not None:
        served = ServedGraph(policy.store, rule_model, fixed=policy)
    else:
        store = store or settings.open_store()
        if revisions.head(store) is None:
            if store.kind == "remote":
                raise StoreError("the remote store holds no revision; seed it once with `payerkg store seed`")
            revisions.seed(store, settings.data_dir)
        served = ServedGraph(store, rule_model, settings.revision_check_s)
    app = FastAPI(
        title="payerkg",
        version=__version__,
        description="Payer telehealth rules as a dated, cited knowledge graph: coverage answers with "
        "reasons, billing, documentation and sources.",
        dependencies=[Depends(check_query_parameters)],
    )
    app.add_middleware(AccessLog)
    app.state.served = served
    app.state.settings = settings
    problems.install(app)
    app.include_router(validation.router)
    app.include_router(sparql.router)
    app.include_router(matrix.router)
    app.include_router(editing.router)

    @app.get("/health", tags=["service"])
    def health(policy: PolicyDep) -> dict[str, Any]:
        """Liveness, with the revision of the graph being served (open to every caller)."""
        return {
            "status": "ok",
            "version": __version__,
            "graph_revision": policy.revision,
            "revision_number": policy.revision_number,
            "store": settings.store if policy.revision_number else "fixed",
        }

    @app.get("/summary", tags=["service"], dependencies=READER)
    def loaded(policy: PolicyDep) -> dict[str, Any]:
        """What the served graph holds: counts by kind and the files it came from."""
        return catalog.summary(policy)

    @app.get(
        "/coverage",
        tags=["coverage"],
        dependencies=READER,
        response_model=CoverageAnswer,
        responses={
            404: {"description": "Unknown payer (problem+json, code unknown_payer)"},
            422: {"description": "Malformed parameter (problem+json, code invalid_parameter)"},
        },
    )
    def get_coverage(
        policy: PolicyDep,
        payer: Annotated[str, Query(description="Payer id", examples=["medicare"])],
        code: Annotated[str, Query(description="CPT or HCPCS code", examples=["99213"])],
        date_of_service: Annotated[
            date, Query(alias="date", description="Date of service", examples=["2024-03-15"])
        ],
        modality: Annotated[Modality | None, Query(examples=["audio-video"])] = None,
        patient_status: Annotated[
            Literal["new", "established"] | None, Query(examples=["established"])
        ] = None,
        patient_location: Annotated[Literal["home", "facility"] | None, Query(examples=["home"])] = None,
        rural: Annotated[bool | None, Query(description="Patient site rural as the law defines it")] = None,
        aco_assigned: Annotated[
            bool | None, Query(description="Patient assigned to a Shared Savings Program ACO with the waiver")
        ] = None,
        practitioner_type: Annotated[str | None, Query(max_length=64, examples=["physician"])] = None,
        purpose: Annotated[
            Literal["mental-health", "sud", "stroke", "esrd", "other"] | None,
            Query(description="Clinical purpose, where exceptions depend on it"),
        ] = None,
        as_of: Annotated[
            date | None, Query(description="Answer with what was known on this date", examples=["2025-10-20"])
        ] = None,
    ) -> CoverageAnswer:
        """What the payer requires for the code on the date of service, and why."""
        question = CoverageQuestion(
            payer=payer,
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
        return coverage(policy, question)

    @app.get(
        "/review",
        tags=["catalog"],
        dependencies=READER,
        response_model=list[ReviewEntry],
        responses={422: {"description": "Malformed parameter (problem+json, code invalid_parameter)"}},
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
        try:
            age = parse_age(older_than) if older_than else None
        except ValueError as error:
            raise InvalidParameter(str(error), "older_than") from None
        return rule_reviews(policy, payer, age)

    @app.get("/payers", tags=["catalog"], dependencies=READER)
    def list_payers(policy: PolicyDep) -> list[dict[str, Any]]:
        return catalog.payers(policy)

    @app.get("/payers/{payer_id}", tags=["catalog"], dependencies=READER)
    def get_payer(policy: PolicyDep, payer_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
        return catalog.payer(policy, payer_id)

    @app.get("/codes/{code}", tags=["catalog"], dependencies=READER)
    def get_code(
        policy: PolicyDep,
        code: Annotated[str, Path(max_length=8)],
        date_of_service: Annotated[date, Query(alias="date")],
    ) -> dict[str, Any]:
        """A code's validity on a date and each payer's recognition of it."""
        return catalog.code(policy, code, date_of_service)

    @app.get("/rules/{rule_id}", tags=["catalog"], response_model=None, dependencies=READER)
    def get_rule(
        request: Request, policy: PolicyDep, rule_id: Annotated[str, Path(max_length=128)]
    ) -> Response:
        """A rule version (or a rule with its versions) and its sources: JSON-LD or Turtle by Accept."""
        graph = catalog.rule_description(policy, rule_id)
        accept = request.headers.get("accept", "")
        if "text/turtle" in accept:
            return Response(graph.serialize(format="turtle"), media_type="text/turtle")
        body = graph.serialize(format="json-ld", auto_compact=True)
        media = "application/ld+json" if "application/ld+json" in accept else "application/json"
        return JSONResponse(content=json.loads(body), media_type=media)

    return app
