"""When two rule versions that apply together say incompatible things.

Shared by coverage answers (the versions applying to one question) and the graph-wide conflict
list (every pair of versions that can apply together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.term import Node

from payerkg.graph.facets import SCOPED
from payerkg.namespaces import PK

Values = Callable[[URIRef], list[Node]]

# A claim line carries one place of service and one rate, and a service is covered or not.
SINGLE_VALUED = {
    "determination": PK.determination,
    "place of service": PK.requiresPlaceOfService,
    "rate basis": PK.rateBasis,
}
# One rule requiring what the other forbids.
REQUIRED_VERSUS_FORBIDDEN = {
    "place of service": (PK.requiresPlaceOfService, PK.forbidsPlaceOfService),
    "modifiers": (PK.requiresModifier, PK.forbidsModifier),
}


@dataclass(frozen=True)
class Disagreement:
    topic: str
    first_says: tuple[Node, ...]
    second_says: tuple[Node, ...]


def can_apply_together(first: Values, second: Values) -> bool:
    """False when the two versions hold in situations that exclude each other (e.g. patient at
    home vs in a facility)."""
    # Per facet, what limits where a version holds: its scope, else what it requires (a version
    # that requires audio-only never says "covered" for an asynchronous service).
    for facet in SCOPED:
        a = first(facet.scope) or (first(facet.requirement) if facet.requirement else [])  # type: ignore[arg-type]
        b = second(facet.scope) or (second(facet.requirement) if facet.requirement else [])  # type: ignore[arg-type]
        if a and b and not set(a) & set(b):
            return False
    return True


def disagreements(first: Values, second: Values) -> list[Disagreement]:
    """What two versions that apply to the same service say incompatibly."""
    found = []
    for topic, prop in SINGLE_VALUED.items():
        a, b = first(prop), second(prop)
        if a and b and not set(a) & set(b):
            found.append(Disagreement(topic, tuple(a), tuple(b)))
    for topic, (required, forbidden) in REQUIRED_VERSUS_FORBIDDEN.items():
        for need, refuse, flip in ((first, second, False), (second, first, True)):
            wanted = need(required)
            if wanted and set(wanted) <= set(refuse(forbidden)):
                says = (tuple(wanted), tuple(refuse(forbidden)))
                found.append(Disagreement(topic, *(says[::-1] if flip else says)))
    return found
