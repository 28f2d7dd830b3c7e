"""Requests generated from the OpenAPI document (schemathesis), as an anonymous caller and as an
editor: no answer is a server error, and every answer matches what the document says of it.

Bounded so it runs in ``make test``: derandomized, a fixed number of examples per operation."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from payerkg.api.app import create_app
from payerkg.settings import Settings
from payerkg.stores import MemoryStore
from tests.editing.keys import API_KEYS, auth

EXAMPLES_PER_OPERATION = 12
CALLERS = {"anonymous": {}, "editor": auth("editor")}
# What the service answers, judged against the document. Not "positive data acceptance": a request
# the document allows (any string as a code, any text as Turtle) may still be refused with a 4xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_no_server_error_and_no_answer_the_document_contradicts() -> None:
    schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # a batch is lines of text
    app = create_app(Settings(anonymous_role="integrator", api_keys=API_KEYS), store=MemoryStore())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 20, "every route is in the document"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            for headers in CALLERS.values():
                case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except BaseException as failure:
            failures.append(f"{operation.label}: {failure}")
    assert failures == [], "\n\n".join(failures)
