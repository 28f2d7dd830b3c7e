"""The FastAPI application, built by a factory from typed settings."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from payerkg import __version__
from payerkg.api import catalog, cds_hooks, coverage, docs, editing, problems, sparql, validation
from payerkg.api.access_log import AccessLog
from payerkg.api.deps import PolicyDep, ServedDep
from payerkg.api.head import HeadAsGet
from payerkg.api.limits import CallerLimits
from payerkg.api.routers import CHECKED_QUERY, include
from payerkg.editing import revisions
from payerkg.errors import PayerKGError, StoreError
from payerkg.graph.dataset import PolicyGraph
from payerkg.graph.rules import rule_model
from payerkg.graph.served import ServedGraph
from payerkg.jsondoc import JSONObject
from payerkg.services import local_index, startup
from payerkg.settings import Settings
from payerkg.stores import Store
from payerkg.web import pages

NOT_SEEDED = "the remote store holds no revision; seed it once with `payerkg store seed`"
"""A replica never seeds a remote store itself, so that two starting together cannot seed twice."""


def create_app(
    settings: Settings | None = None, policy: PolicyGraph | None = None, store: Store | None = None
) -> FastAPI:
    """Build the app over the configured store (seeded from the shipped files if empty), over
    ``store``, or over a fixed ``policy`` graph served read-only."""
    startup.tune_collector()
    settings = settings or Settings()
    indexed: local_index.LocalIndex | None = None

    def warm_up(policy: PolicyGraph) -> None:
        rule_model(policy)
        if indexed is not None:
            indexed.attach_or_build(policy)
        sparql.warm_up(policy, settings)

    if policy is not None:
        served = ServedGraph(policy.store, rule_model, fixed=policy)
        sparql.warm_up(policy, settings)
    else:
        store = store or settings.open_store()
        if revisions.head(store) is None:
            if store.kind == "remote":
                raise StoreError(NOT_SEEDED)
            startup.seed(store, settings)
        indexed = local_index.for_store(settings, store, startup.snapshot_folder(settings))
        served = ServedGraph(store, warm_up, settings.revision_check_s)
    app = FastAPI(
        title="payerkg",
        version=__version__,
        description="Payer telehealth rules as a dated, cited knowledge graph: coverage answers with "
        "reasons, billing, documentation and sources.",
        dependencies=[CHECKED_QUERY],  # for the routes declared on the app itself
        docs_url=None,  # served by payerkg.api.docs from the package, never from a CDN
        redoc_url=None,
    )
    app.add_middleware(HeadAsGet)  # innermost: HEAD runs as GET (api/head.py)
    app.add_middleware(CallerLimits)  # inside the access log, so that its 429s are logged
    app.add_middleware(AccessLog)
    app.state.served = served
    app.state.local_index = indexed
    app.state.settings = settings
    problems.install(app)
    # Starlette tries the routes in order, 2-3 microseconds each: the busiest come first (POST
    # /validate was the 13th, a tenth of its time in the app).
    include(app, validation.router)
    include(app, coverage.router)
    include(app, catalog.router)
    docs.install(app)
    include(app, cds_hooks.router)
    include(app, sparql.router)
    include(app, editing.router)
    pages.install(app)  # the web pages, and their errors as pages

    @app.get("/health", tags=["service"], response_model=ServiceHealth)
    async def health(policy: PolicyDep, served: ServedDep) -> ServiceHealth:
        """Liveness, with the revision of the graph being served (open to every caller)."""
        store = settings.store if served.editable else "fixed"
        return ServiceHealth(
            "ok", __version__, policy.revision, policy.revision_number, policy.content_hash, store
        )

    def openapi() -> JSONObject:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key (payerkg key new)"}
            }
            # Anonymous callers may use the routes PAYERKG_ANONYMOUS_ROLE reaches; others need a key.
            schema["security"] = [{"bearer": []}, {}]
            schema = validation.document_claim_schemas(schema)
            app.openapi_schema = coverage.document_facet_values(schema, served.current())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


WORKER_FAILURE_FILE = "PAYERKG_WORKER_FAILURE_FILE"
"""Set by ``payerkg serve`` for its workers: where a worker that cannot start writes why."""


def worker_app() -> FastAPI:
    """The app of one ``payerkg serve --workers N`` worker, built from the environment's settings.
    A store it cannot serve is logged as its message and exits with uvicorn's start-up failure
    code, which stops the other workers instead of restarting this one for ever. uvicorn's parent
    then returns as after a shutdown, so the reason is also written where ``payerkg serve`` reads
    it to exit with status 2."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return create_app(Settings())
    except PayerKGError as error:
        logging.getLogger("payerkg.errors").error("the service cannot start: %s", error.message)
        if report := os.environ.get(WORKER_FAILURE_FILE):
            # Any other exit code would have uvicorn start this worker again, for ever.
            with contextlib.suppress(OSError):
                Path(report).write_text(error.message, encoding="utf-8")
        sys.exit(STARTUP_FAILURE)


@dataclass(frozen=True)
class ServiceHealth:
    status: str
    version: str
    graph_revision: str
    """The graph's identity: revision number and content hash (``3-0123456789ab``)."""
    revision_number: int
    content_hash: str
    store: str
