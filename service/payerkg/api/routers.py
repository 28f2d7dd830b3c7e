"""Routers whose routes the app takes as they are built.

FastAPI's ``include_router`` builds every route of a router a second time (its response model's
pydantic adapter, its parameters and dependencies) after the route decorators built it at import;
that second build was half of ``create_app``'s time. A router made by ``resource_router`` carries
the app-wide check of query parameters on its own routes, so ``include`` hands them to the app
unchanged (``tests/api/test_strict_requests.py`` checks that every route has the check).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, FastAPI
from fastapi.params import Depends as Dependency

from payerkg.api.query_params import check_query_parameters

CHECKED_QUERY = Depends(check_query_parameters)
"""The app-wide dependency: the app declares it for its own routes, each router for its routes."""


def resource_router(
    tag: str, *, dependencies: Sequence[Dependency] = (), include_in_schema: bool = True
) -> APIRouter:
    """A router for one resource (one OpenAPI tag), its routes checking their query parameters."""
    return APIRouter(
        tags=[tag], dependencies=[CHECKED_QUERY, *dependencies], include_in_schema=include_in_schema
    )


def include(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, as built, after the app's (FastAPI's include_router builds them again)."""
    app.router.routes.extend(router.routes)
