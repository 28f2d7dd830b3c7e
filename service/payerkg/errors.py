"""Domain errors: a small hierarchy, each with a stable code, a message and a pointer.

The API maps each class to an HTTP status in one place (payerkg.api.problems); the CLI prints
the message and exits with 2. Messages never repeat submitted values.
"""

from __future__ import annotations


class PayerKGError(Exception):
    """Base of every error payerkg reports to a user."""

    code = "error"

    def __init__(self, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


class DataFileError(PayerKGError):
    """A graph file (ontology, shapes, policy) cannot be read or parsed."""

    code = "parse_error"

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}", pointer=path)
        self.path = path
        self.line = line


class InvalidParameter(PayerKGError):
    """A request parameter is malformed (a date that is not a date, an unknown modality)."""

    code = "invalid_parameter"


class UnknownPayer(PayerKGError):
    """The payer id names no payer in the graph."""

    code = "unknown_payer"


class UnknownCode(PayerKGError):
    """The code is well formed but the graph holds no such code."""

    code = "unknown_code"


class UnknownRule(PayerKGError):
    """The rule or rule-version id names nothing in the graph."""

    code = "unknown_rule"


class UnknownRevision(PayerKGError):
    """The store has no graph revision with that number."""

    code = "unknown_revision"


class InputError(PayerKGError):
    """A submitted document (encounter, rule) is refused before anything is done with it."""

    code = "invalid_input"


class TooLarge(InputError):
    code = "too_large"


class TooDeep(InputError):
    code = "too_deep"


class UnsupportedFormat(InputError):
    code = "unsupported_format"


class ParseError(InputError):
    """The document does not parse; the message gives line and column, never content."""

    code = "parse_error"


class ContextNotAllowed(InputError):
    """A JSON-LD context or import other than payerkg's own; it is never fetched."""

    code = "context_not_allowed"


class InvalidEncounter(InputError):
    """The encounter parses but does not follow the documented format; the message names the field."""

    code = "invalid_encounter"


class InvalidClaim(InputError):
    """A claim (FHIR R4 or X12 837P) parses but cannot be read as an encounter; the message and
    pointer name the element (a FHIRPath expression, or an X12 segment and its position)."""

    code = "invalid_claim"


class UnknownPayerIdentifier(InvalidClaim):
    """A claim names its payer by an identifier payerkg has no payer for (docs/fhir.md, docs/x12.md)."""

    code = "unknown_payer_identifier"


class InvalidHookRequest(InputError):
    """A CDS Hooks request this service cannot take (wrong hook, missing context, invalid FHIR);
    the message and pointer name the field, never its value."""

    code = "invalid_hook_request"


class UnknownService(PayerKGError):
    """No CDS service has this id."""

    code = "unknown_service"


class QueryError(PayerKGError):
    """A SPARQL request the endpoint refuses or cannot answer; messages never repeat the query text."""

    code = "query_error"


class InvalidQueryRequest(QueryError):
    """The HTTP request does not follow the SPARQL 1.1 Protocol (no query, two queries)."""

    code = "invalid_request"


class MalformedQuery(QueryError):
    """The query text is not SPARQL 1.1 (the message gives line and column, never text)."""

    code = "malformed_query"


class ForbiddenFeature(QueryError):
    """A feature a read-only endpoint refuses: updates, SERVICE, LOAD, FROM and dataset parameters.

    The pointer names the feature; nothing it points to is ever fetched.
    """

    code = "forbidden_feature"


class NotAcceptable(QueryError):
    """No result format the client accepts exists for this kind of query."""

    code = "not_acceptable"


class QueryTimeout(QueryError):
    """The query ran past its time limit and was stopped; no partial result is sent."""

    code = "query_timeout"


class ResultTooLarge(QueryError):
    """The result passed its row (or memory) limit and was dropped; it is never silently cut."""

    code = "result_too_large"


class QueryBusy(QueryError):
    """Every query worker is busy; ``retry_after_s`` says when the first must be free."""

    code = "busy"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManyRequests(PayerKGError):
    """The caller already has as many requests (or queries) running as it may; retry later."""

    code = "too_many_requests"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SettingsError(PayerKGError):
    """A PAYERKG_* setting is not of its type (the message names the variable, not its value)."""

    code = "invalid_setting"


class StoreError(PayerKGError):
    """The store cannot be reached or refused an operation; nothing was changed."""

    code = "store_unavailable"


class StoreLocked(StoreError):
    """An embedded store is open in another process (a running service holds its lock)."""


class EditRefused(PayerKGError):
    """A proposed rule change fails a check (policy shapes, references, content); nothing was changed.

    ``problems`` lists each finding as plain text naming the node and the rule broken.
    """

    code = "edit_refused"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class EditConflict(EditRefused):
    """The change would put two active rule versions in disagreement; ``problems`` names both."""

    code = "rule_conflict"


class StaleRevision(PayerKGError):
    """The change was based on a revision that is no longer the newest; nothing was changed."""

    code = "stale_revision"


class EditingOff(PayerKGError):
    """This process is a read replica: changes go to the one process that takes them."""

    code = "editing_off"


class NotAuthenticated(PayerKGError):
    code = "not_authenticated"


class Forbidden(PayerKGError):
    code = "forbidden"
