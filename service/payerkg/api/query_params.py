"""Query parameters a route does not declare, or declares once and receives twice, are refused.

An unknown parameter (``/coverage?patient_name=...``) is a 422 naming it, not silently ignored;
a repeated one is a 422 rather than last-wins. A route declares its parameters by its signature
or, where it reads them itself (the SPARQL protocol, Turtle changes), as OpenAPI ``parameters``
in ``openapi_extra``; an array-typed one may repeat, and so may one whose route refuses the
repetition itself (marked ``REFUSED_BY_ROUTE``: the SPARQL protocol's 400 for two queries).
"""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from payerkg.errors import InvalidParameter
from payerkg.jsondoc import JSONObject

REFUSED_BY_ROUTE = "x-repeats-refused-by-route"
_DECLARED = "_payerkg_query_parameters"
"""The attribute where a route keeps its parameter names and those that may repeat, once computed."""


async def check_query_parameters(request: Request) -> None:
    """App-wide dependency: refuse undeclared and repeated query parameters."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names, repeatable = declared(route)
    counts = Counter(name for name, _ in request.query_params.multi_items())
    for name, count in counts.items():
        shown = name[:40]
        if name not in names:
            raise InvalidParameter(f"unknown query parameter {shown}", shown)
        if count > 1 and name not in repeatable:
            raise InvalidParameter(f"query parameter {shown} is given more than once", shown)


def declared(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters ``route`` accepts, and those of them that may repeat."""
    found: tuple[frozenset[str], frozenset[str]] | None = getattr(route, _DECLARED, None)
    if found is None:
        names: set[str] = set()
        repeatable: set[str] = set()
        _from_dependant(route.dependant, names, repeatable)
        extra: list[JSONObject] = (route.openapi_extra or {}).get("parameters", [])
        for parameter in extra:
            if parameter.get("in") == "query":
                names.add(parameter["name"])
                if parameter.get("schema", {}).get("type") == "array" or parameter.get(REFUSED_BY_ROUTE):
                    repeatable.add(parameter["name"])
        found = (frozenset(names), frozenset(repeatable))
        setattr(route, _DECLARED, found)
    return found


def _from_dependant(dependant: Dependant, names: set[str], repeatable: set[str]) -> None:
    for field in dependant.query_params:
        names.add(field.alias)
        if getattr(field.field_info.annotation, "__origin__", None) in (list, set, tuple):
            repeatable.add(field.alias)
    for sub in dependant.dependencies:
        _from_dependant(sub, names, repeatable)
