"""A coverage question as a page's query string: parsed from the form's fields, and written back
as the page's own URL, the JSON API's URL, a CLI command and a curl command (the same question
each time, so an officer can share any of them)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from payerkg.coverage.answer import CoverageQuestion
from payerkg.graph.facets import FACETS

MAX_FIELD = 64
"""The longest value a field of the form takes (the API's limit for a facet value)."""
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BOOLEANS = {"true": True, "false": False}
CLI_SWITCHES = {"rural": ("--rural", "--not-rural"), "aco_assigned": ("--aco", "--not-aco")}
"""How ``payerkg coverage`` spells the yes/no facets (``tests/web`` runs the command it makes)."""
FIELDS = ("payer", "code", "date", *(facet.name for facet in FACETS), "as_of")
"""The form's fields, in the order the URL names them: the API's parameter names."""


@dataclass
class ParsedQuestion:
    """What a form sent: the question once it is whole and well formed, else an error per field."""

    values: dict[str, str]
    question: CoverageQuestion | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def asked(self) -> bool:
        return any(self.values.values())


def parse(values: Mapping[str, str | None]) -> ParsedQuestion:
    """The question of the form's fields; an empty field is an unstated one.

    >>> parse({"payer": "medicare", "code": "99213", "date": "2024-03-15", "rural": "false"}).question.rural
    False
    >>> parse({"payer": "medicare", "code": "99213", "date": "15/03/2024"}).errors
    {'date': 'a date as YYYY-MM-DD'}
    """
    given = {name: (values.get(name) or "").strip() for name in FIELDS}
    parsed = ParsedQuestion(given)
    for name, value in given.items():
        if len(value) > MAX_FIELD:
            parsed.errors[name] = f"at most {MAX_FIELD} characters"
    for name in ("payer", "code", "date"):
        if not given[name] and parsed.asked:
            parsed.errors.setdefault(name, "required")
    days = {name: _date(given[name], name, parsed.errors) for name in ("date", "as_of")}
    flags = {
        facet.name: _boolean(given[facet.name], facet.name, parsed.errors)
        for facet in FACETS
        if facet.vocabulary is None
    }
    if parsed.errors or not parsed.asked:
        return parsed
    texts = {facet.name: given[facet.name] or None for facet in FACETS if facet.vocabulary is not None}
    day = days["date"]
    assert day is not None
    parsed.question = CoverageQuestion(
        payer=given["payer"],
        code=given["code"].upper(),
        date_of_service=day,
        as_of=days["as_of"],
        **texts,  # type: ignore[arg-type]
        **flags,  # type: ignore[arg-type]
    )
    return parsed


def _date(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value or name in errors:
        return None
    try:
        if DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    errors[name] = "a date as YYYY-MM-DD"
    return None


def _boolean(value: str, name: str, errors: dict[str, str]) -> bool | None:
    if not value or name in errors:
        return None
    if value not in BOOLEANS:
        errors[name] = "true, false or empty (not stated)"
        return None
    return BOOLEANS[value]


def query_pairs(question: CoverageQuestion) -> list[tuple[str, str]]:
    """The question as the API's query parameters, the stated ones only.

    >>> query_pairs(CoverageQuestion("medicare", "99213", date(2024, 3, 15), rural=True))
    [('payer', 'medicare'), ('code', '99213'), ('date', '2024-03-15'), ('rural', 'true')]
    """
    pairs = [
        ("payer", question.payer),
        ("code", question.code),
        ("date", question.date_of_service.isoformat()),
    ]
    for facet in FACETS:
        value = getattr(question, facet.name)
        if value is not None:
            pairs.append((facet.name, str(value).lower() if isinstance(value, bool) else value))
    if question.as_of is not None:
        pairs.append(("as_of", question.as_of.isoformat()))
    return pairs


def query_string(question: CoverageQuestion) -> str:
    return urlencode(query_pairs(question))


def cli_command(question: CoverageQuestion) -> str:
    """The same question for ``payerkg coverage``.

    >>> cli_command(CoverageQuestion("medicare", "99213", date(2024, 3, 15), rural=False))
    'payerkg coverage --payer medicare --code 99213 --date 2024-03-15 --not-rural'
    """
    words = ["payerkg", "coverage"]
    for name, value in query_pairs(question):
        if name in CLI_SWITCHES:
            words.append(CLI_SWITCHES[name][0 if value == "true" else 1])
        else:
            words += ["--" + name.replace("_", "-"), shlex.quote(value)]
    return " ".join(words)


def curl_command(base_url: str, question: CoverageQuestion) -> str:
    """The same question for the JSON API, from a shell."""
    return "curl " + shlex.quote(f"{base_url.rstrip('/')}/coverage?{query_string(question)}")
