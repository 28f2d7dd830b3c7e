"""CDS Hooks routes (Da Vinci CRD shape): discovery, and one route that answers each service's hook."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from payerkg.api.auth import INTEGRATOR
from payerkg.api.deps import PolicyDep, SettingsDep
from payerkg.api.problems import problems_for
from payerkg.api.routers import resource_router
from payerkg.api.validation import read_capped
from payerkg.services import cds_hooks
from payerkg.services.cds_hooks import Discovery, HookResponse

router = resource_router("cds-hooks")


@router.get(
    "/cds-services",
    response_model=Discovery,
    response_model_exclude_none=True,
    responses=problems_for(),
    summary="CDS Hooks 2.0 discovery: the coverage services and their prefetch templates",
)
def discovery() -> Discovery:
    return cds_hooks.discovery()


@router.post(
    "/cds-services/{service_id}",
    response_model=HookResponse,
    response_model_exclude_none=True,
    responses=problems_for(404, 413),
    dependencies=INTEGRATOR,
    summary="Answer a hook: cards, and the CRD coverage-information extension on each draft resource",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": ["hook", "hookInstance", "context"]}
                }
            },
        }
    },
)
async def call_service(
    service_id: str, request: Request, policy: PolicyDep, settings: SettingsDep
) -> HookResponse:
    """The request is read in memory and never logged or stored; nothing it points to is fetched."""
    limits = settings.encounter_limits()
    body = await read_capped(request, limits.max_bytes)
    return await run_in_threadpool(cds_hooks.answer_hook, policy, service_id, body, limits)
