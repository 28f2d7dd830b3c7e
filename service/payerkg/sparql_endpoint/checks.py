"""The checks every SPARQL query passes before it is evaluated: parsed by rdflib, whose algebra
names what is refused (updates, ``SERVICE``, ``LOAD``, dataset clauses) with line and column.
Error messages name features, line and column, never text taken from the query. Imported at the
first query (rdflib's SPARQL parser takes a seventh of a second to import), before the worker
is forked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyparsing import ParseBaseException, ParseResults
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query

from payerkg.errors import ForbiddenFeature, MalformedQuery
from payerkg.namespaces import PREFIXES

UPDATE_NAMES = {
    "Load": "LOAD",
    "Clear": "CLEAR",
    "Drop": "DROP",
    "Create": "CREATE",
    "Add": "ADD",
    "Move": "MOVE",
    "Copy": "COPY",
    "InsertData": "INSERT DATA",
    "DeleteData": "DELETE DATA",
    "DeleteWhere": "DELETE WHERE",
    "Modify": "DELETE/INSERT",
}


def parse_read_only(text: str, base: str | None = None) -> Query:
    """Parse a query and refuse, from its algebra, anything that writes or reaches outside.

    payerkg's prefixes (pk:, rv:, skos: ...) are declared in advance.

    >>> parse_read_only("SELECT * FROM <http://example.org/g> { ?s ?p ?o }")
    Traceback (most recent call last):
    ...
    payerkg.errors.ForbiddenFeature: FROM is not allowed: the endpoint answers from its own graph only
    """
    if _is_blank(text):
        raise MalformedQuery("the query is empty: write a SELECT, ASK, CONSTRUCT or DESCRIBE query", "query")
    try:
        parsed = parseQuery(text)
    except ParseBaseException as error:
        _refuse_if_update(text)
        raise MalformedQuery(
            f"SPARQL syntax error at line {error.lineno}, column {error.col}", "query"
        ) from None
    except RecursionError:
        raise MalformedQuery("the query nests too deeply", "query") from None
    try:
        query = translateQuery(parsed, base=base, initNs=dict(PREFIXES))
    except RecursionError:
        raise MalformedQuery("the query nests too deeply", "query") from None
    except Exception as error:  # unknown prefix, bad aggregate use, ...: rdflib raises Exception
        raise MalformedQuery(_translation_problem(error), "query") from None
    _refuse_forbidden(query.algebra)
    if query.algebra.name == "ConstructQuery" and query.algebra.template is None:
        query.algebra["template"] = _construct_template(parsed[1], query.algebra)
    return query


def _construct_template(parsed: CompValue, algebra: CompValue) -> list[Any]:
    """The template rdflib leaves out: the pattern itself for ``CONSTRUCT WHERE { ... }`` (which
    rdflib's evaluator cannot find once LIMIT, OFFSET or ORDER BY wrap it), none for ``CONSTRUCT {}``.

    >>> query = parse_read_only("CONSTRUCT WHERE { ?s a ?t } LIMIT 1")
    >>> [str(term) for term in query.algebra.template[0]]
    ['s', 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type', 't']
    """
    where = _field(parsed, "where")
    if where is None or where.name != "FakeGroupGraphPatten":  # the long form with an empty template
        return []
    # The short form's pattern is triples only (SPARQL 1.1 §16.2.4): one basic graph pattern.
    return [triple for node in _walk(algebra) if node.name == "BGP" for triple in node.triples]


def _is_blank(text: str) -> bool:
    """Whether the text holds nothing but white space and comments.

    >>> _is_blank("  # nothing here\\n")
    True
    """
    return not any(line.split("#", 1)[0].strip() for line in text.splitlines())


def _translation_problem(error: Exception) -> str:
    if str(error).startswith("Unknown namespace prefix"):
        return "the query uses an undeclared prefix"
    return f"the query is not valid SPARQL 1.1 ({type(error).__name__})"


def _refuse_if_update(text: str) -> None:
    try:
        update = parseUpdate(text)
    except (ParseBaseException, RecursionError):
        return
    requests = _field(update, "request") or []
    operations = [op.name for op in requests if isinstance(op, CompValue)]
    if not operations:  # only a prologue (PREFIX, BASE): not an update, a query missing its body
        return
    feature = next((UPDATE_NAMES[op] for op in operations if op in UPDATE_NAMES), "update")
    raise ForbiddenFeature(f"{feature} is not allowed: the endpoint only reads", feature)


def _refuse_forbidden(algebra: CompValue) -> None:
    for node in _walk(algebra):
        clauses = _field(node, "datasetClause")
        if clauses:
            named = any(_field(clause, "named") for clause in clauses)
            feature = "FROM NAMED" if named else "FROM"
            raise ForbiddenFeature(
                f"{feature} is not allowed: the endpoint answers from its own graph only", feature
            )
        if node.name == "ServiceGraphPattern":
            raise ForbiddenFeature("SERVICE is not allowed: the endpoint fetches nothing", "SERVICE")


def _field(node: CompValue, name: str) -> Any:
    """A CompValue's field or None (its own ``get`` returns the name itself when it is missing)."""
    return dict.get(node, name)


def _walk(root: CompValue) -> Iterator[CompValue]:
    """Every CompValue in the algebra, including patterns inside EXISTS and sub-queries."""
    stack: list[Any] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset, ParseResults)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
