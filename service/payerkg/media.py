"""Content negotiation: which offered media type an ``Accept`` header prefers (RFC 9110 §12.5.1).

The one negotiator of every route that answers in more than one format. Each offered type takes
the quality of the most specific range that matches it (``text/turtle`` before ``text/*`` before
``*/*``), so ``text/turtle;q=0, */*`` refuses Turtle and accepts anything else. ``q=0`` means "not
acceptable"; equal qualities go to the range the client wrote first, then to the server's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FHIR_JSON = "application/fhir+json"
"""FHIR R4 resources as JSON (``validation/formats/fhir.py`` reads them)."""
X12_MEDIA = "application/edi-x12"
"""X12 interchanges (``validation/formats/x12.py`` reads 837P claims)."""


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header: ``type/subtype`` (either may be ``*``) and its quality."""

    type: str
    subtype: str
    quality: float
    position: int

    def specificity(self, media: str) -> int:
        """How closely this range names ``media``: 3 exactly, 2 by ``type/*``, 1 by ``*/*``, 0 not."""
        kind, _, subtype = media.partition("/")
        if self.type == "*":
            return 1 if self.subtype == "*" else 0
        if self.type != kind:
            return 0
        if self.subtype == "*":
            return 2
        return 3 if self.subtype == subtype else 0


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header, malformed elements left out; an empty header is ``*/*``.

    >>> [(r.type, r.subtype, r.quality) for r in parse_accept("text/turtle;q=0.5, */*;q=0")]
    [('text', 'turtle', 0.5), ('*', '*', 0.0)]
    """
    if not header.strip():
        return [MediaRange("*", "*", 1.0, 0)]
    ranges = []
    for position, element in enumerate(header.split(",")):
        media, *parameters = (field.strip() for field in element.split(";"))
        kind, slash, subtype = media.lower().partition("/")
        if not slash or not kind or not subtype or (kind == "*" and subtype != "*"):
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value)
                break  # what follows q are accept extensions, not media type parameters
        ranges.append(MediaRange(kind, subtype, quality, position))
    return ranges


def _quality(value: str) -> float:
    """A q value; one that is not a number in [0, 1] makes the range unacceptable."""
    try:
        quality = float(value.strip())
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0


def negotiate(header: str, offered: Sequence[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The offered media type ``header`` prefers, or None when it accepts none of them.

    ``aliases`` maps another name a client may ask by (``application/json``) to the offered type it
    means; the alias matches as exactly as the type's own name.

    >>> negotiate("text/turtle;q=0, */*", ["text/turtle", "application/n-triples"])
    'application/n-triples'
    >>> negotiate("application/n-triples, text/turtle", ["text/turtle", "application/n-triples"])
    'application/n-triples'
    >>> negotiate("text/csv", ["text/turtle"]) is None
    True
    """
    ranges = parse_accept(header)
    names: dict[str, list[str]] = {media: [media] for media in offered}
    for alias, media in (aliases or {}).items():
        if media in names:
            names[media].append(alias)
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, media in enumerate(offered):
        match = _best_range(ranges, names[media])
        if match is None or match.quality <= 0:
            continue
        rank = (-match.quality, match.position, order)
        if best is None or rank < best:
            best, chosen = rank, media
    return chosen


def _best_range(ranges: Sequence[MediaRange], names: Sequence[str]) -> MediaRange | None:
    """The most specific range naming any of ``names`` (the first written among equals)."""
    found: tuple[int, int, MediaRange] | None = None
    for media_range in ranges:
        specificity = max(media_range.specificity(name) for name in names)
        if specificity and (found is None or (-specificity, media_range.position) < found[:2]):
            found = (-specificity, media_range.position, media_range)
    return found[2] if found else None
