"""Catalog routes: what is loaded, payers, codes and rule documents."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse, Response

from payerkg.api.auth import READER
from payerkg.api.deps import PolicyDep
from payerkg.api.problems import problems_for
from payerkg.api.routers import resource_router
from payerkg.errors import NotAcceptable
from payerkg.graph import catalog
from payerkg.graph.catalog import CodeInfo, GraphSummary, PayerInfo
from payerkg.jsondoc import JSONObject
from payerkg.media import negotiate

router = resource_router("catalog", dependencies=READER)
VARY = {"Vary": "Accept"}

RULE_DOCUMENT: dict[int | str, JSONObject] = {
    200: {
        "description": "The rule's statements and sources as JSON-LD (default) or Turtle",
        "content": {
            "application/ld+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
            "text/turtle": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/summary", tags=["service"], response_model=GraphSummary, responses=problems_for())
def loaded(policy: PolicyDep) -> GraphSummary:
    """What the served graph holds: counts by kind and the files it came from."""
    return catalog.summary(policy)


@router.get("/payers", response_model=list[PayerInfo], responses=problems_for())
def list_payers(policy: PolicyDep) -> list[PayerInfo]:
    return catalog.payers(policy)


@router.get("/payers/{payer_id}", response_model=PayerInfo, responses=problems_for(404))
def get_payer(policy: PolicyDep, payer_id: Annotated[str, Path(max_length=64)]) -> PayerInfo:
    return catalog.payer(policy, payer_id)


@router.get("/codes/{code}", response_model=CodeInfo, responses=problems_for(404))
def get_code(
    policy: PolicyDep,
    code: Annotated[str, Path(max_length=8)],
    date_of_service: Annotated[date, Query(alias="date")],
) -> CodeInfo:
    """A code's validity on a date and each payer's recognition of it."""
    return catalog.code(policy, code, date_of_service)


RULE_FORMATS = ("application/json", "application/ld+json", "text/turtle")
"""JSON-LD (as application/json unless asked for by name) first: the default."""


@router.get("/rules/{rule_id}", response_model=None, responses=RULE_DOCUMENT | problems_for(404, 406))
def get_rule(request: Request, policy: PolicyDep, rule_id: Annotated[str, Path(max_length=128)]) -> Response:
    """A rule version (or a rule with its versions) and its sources: JSON-LD or Turtle by Accept."""
    media = negotiate(request.headers.get("accept", ""), RULE_FORMATS)
    if media is None:
        raise NotAcceptable("a rule document can be sent as " + ", ".join(RULE_FORMATS), "accept")
    graph = catalog.rule_description(policy, rule_id)
    if media == "text/turtle":
        return Response(graph.serialize(format="turtle"), media_type=media, headers=VARY)
    body = graph.serialize(format="json-ld", auto_compact=True)
    return JSONResponse(content=json.loads(body), media_type=media, headers=VARY)
