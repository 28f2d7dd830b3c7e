"""The one content negotiator (payerkg.media): RFC 9110 quality values, q=0 and specificity."""

from __future__ import annotations

import pytest

from payerkg.media import negotiate, parse_accept

RDF = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "text/turtle"),
        ("*/*", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("text/turtle;q=0, */*", "application/n-triples"),
        ("text/turtle;q=0", None),
        ("*/*;q=0", None),
        ("*/*;q=0, application/ld+json", "application/ld+json"),
        ("text/*;q=0, */*;q=0.1", "application/n-triples"),
        ("application/*;q=0.2, text/turtle;q=0.1", "application/n-triples"),
        ("text/csv;q=0.5, application/rdf+xml;q=0.9, text/turtle;q=0.8", "application/rdf+xml"),
        ("application/n-triples, text/turtle", "application/n-triples"),
        ("application/ld+json;q=0.5, application/ld+json", "application/ld+json"),
        ("TEXT/Turtle", "text/turtle"),
        ("text/turtle; charset=utf-8; q=0.3, application/ld+json;q=0.2", "text/turtle"),
        ("text/turtle;q=abc, application/ld+json;q=0.01", "application/ld+json"),
        ("text/turtle;q=2, application/ld+json;q=0.01", "application/ld+json"),
        ("nonsense, */x, text/csv", None),
    ],
)
def test_negotiate(header: str, expected: str | None) -> None:
    assert negotiate(header, RDF) == expected


def test_an_alias_matches_as_exactly_as_the_name_it_stands_for() -> None:
    offered = ["application/sparql-results+json", "application/sparql-results+xml"]
    aliases = {"application/json": "application/sparql-results+json"}
    assert negotiate("application/json", offered, aliases) == "application/sparql-results+json"
    assert negotiate("application/*;q=0.5, application/json;q=0", offered, aliases) == (
        "application/sparql-results+xml"
    )


def test_accept_extensions_after_q_are_not_read_as_quality() -> None:
    (media_range,) = parse_accept("text/turtle;q=0.4;ext=1")
    assert media_range.quality == 0.4
