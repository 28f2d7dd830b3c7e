"""Read-only SPARQL: refuse what could write or fetch, run the rest where it can be stopped.

Every query is parsed and checked by rdflib (``checks.py``), whose algebra names what is refused
(updates, ``SERVICE``, ``LOAD``, dataset clauses) with line and column, before anything is evaluated. It is
then evaluated and serialized by pyoxigraph (``sparql_endpoint/oxigraph.py``) over an in-memory
copy of the served graphs, in a forked child process (the loaded graphs are shared copy-on-write)
that is killed at the deadline; the child counts result rows as they are produced and passes bytes
back. rdflib evaluates only where pyoxigraph cannot: see ``answer_query``. Error messages name
features, line and column, never text taken from the query.
"""

from __future__ import annotations

import faulthandler
import functools
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from rdflib import Dataset, Graph, Variable
from rdflib.query import Result
from rdflib.term import Node

from payerkg.editing.revisions import REVISIONS_GRAPH
from payerkg.errors import (
    ForbiddenFeature,
    MalformedQuery,
    NotAcceptable,
    QueryBusy,
    QueryError,
    QueryTimeout,
    ResultTooLarge,
)
from payerkg.graph.dataset import PolicyGraph
from payerkg.namespaces import PREFIXES
from payerkg.sparql_endpoint import oxigraph
from payerkg.sparql_endpoint.formats import (
    CSV,
    GRAPH_FORMATS,
    JSON_LD,
    NTRIPLES,
    RDF_XML,
    SPARQL_JSON,
    SPARQL_XML,
    TSV,
    TURTLE,
    accept_headers,
    choose_format,
)
from payerkg.sparql_endpoint.oxigraph import (
    OxigraphGraphs,
    named_graphs_dataset,
    oxigraph_graphs,
    oxigraph_graphs_of,
)
from payerkg.stores import new_dataset

if TYPE_CHECKING:
    from rdflib.plugins.sparql.sparql import Query

BLOCKED_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "urllib.Request",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.fork",
    }
)
"""Audit events refused inside a query worker: a second lock behind the algebra check."""


@dataclass(frozen=True)
class QueryLimits:
    """What one query may cost: seconds, result rows (or triples) and added memory (0: no cap)."""

    timeout_s: float = 10.0
    max_rows: int = 10_000
    max_memory_mb: int = 1024


@dataclass(frozen=True)
class Answer:
    """A serialized query result: the query form (SELECT, ASK, CONSTRUCT, DESCRIBE) and its bytes."""

    form: str
    media_type: str
    body: bytes


@dataclass(frozen=True)
class Example:
    """A shipped example query (``queries/examples/<name>.rq``); its first comment line is the title."""

    name: str
    title: str
    text: str


def example_queries() -> list[Example]:
    """The example queries shown on the query page, in file-name order."""
    folder: Traversable = resources.files("payerkg.queries") / "examples"
    examples = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            text = entry.read_text(encoding="utf-8")
            first = text.splitlines()[0] if text else ""
            title = first.lstrip("# ").strip() if first.startswith("#") else entry.name
            examples.append(Example(entry.name.removesuffix(".rq"), title, text))
    return examples


def run_query(
    graphs: Dataset | ServedGraphs,
    text: str,
    accept: str | Sequence[str] = "*/*",
    limits: QueryLimits | None = None,
    base: str | None = None,
    deadline: float | None = None,
) -> Answer:
    """Answer ``text`` over ``graphs`` in a killable worker, or raise a QueryError.

    ``accept`` is an Accept header (``*/*`` takes the default format), or several tried in order
    until one fits the query form (what format parameters name, then the request's own);
    ``deadline`` (``time.monotonic()``) defaults to now plus the time limit.
    """
    from payerkg.sparql_endpoint import checks  # noqa: F401 - loaded before the fork: workers inherit it

    limits = limits or QueryLimits()
    deadline = deadline if deadline is not None else time.monotonic() + limits.timeout_s
    context = multiprocessing.get_context("fork")
    with _STARTING:
        reader, writer = context.Pipe(duplex=False)
        worker = context.Process(
            target=_worker,
            args=(graphs, text, accept_headers(accept), limits, base, writer),
            name="payerkg-sparql",
            daemon=True,
        )
        try:
            worker.start()
        except OSError:  # no process could be made (process or memory limits): a load problem
            reader.close()
            writer.close()
            raise QueryBusy("no query worker could be started; retry later") from None
        writer.close()  # the child holds its copy; EOF then means the child is gone
    try:
        if not reader.poll(max(0.0, deadline - time.monotonic())):
            raise QueryTimeout(f"the query did not finish within {limits.timeout_s:g} s and was stopped")
        return _receive(reader, limits)
    finally:
        reader.close()
        _stop(worker)


_STARTING = threading.Lock()
"""One worker starts at a time: a worker forked by another thread between the making of this one's
pipes and the closing of their child ends would hold them open, and this one's end (its answer's
EOF, the exit that ``_stop`` waits for) would wait for that worker's end: a small query answered
only when a runaway one beside it was stopped."""


def _receive(reader: Connection, limits: QueryLimits) -> Answer:
    try:
        header = reader.recv()
        if header[0] == "ok":
            return Answer(header[1], header[2], reader.recv_bytes())
    except (EOFError, OSError):
        raise ResultTooLarge(
            "the query worker stopped before answering (most likely past its "
            f"{limits.max_memory_mb} MB memory budget)"
        ) from None
    _, name, message, pointer = header
    raise _ERRORS.get(name, QueryError)(message, pointer)


def _stop(worker: multiprocessing.process.BaseProcess) -> None:
    """Kill the worker if it still runs and reap it, so no process outlives its request."""
    if worker.pid is None:
        return
    if worker.is_alive():
        worker.kill()
    worker.join(timeout=5)
    if worker.exitcode is not None:
        worker.close()


_ERRORS: dict[str, type[QueryError]] = {
    cls.__name__: cls for cls in (MalformedQuery, ForbiddenFeature, ResultTooLarge, NotAcceptable, QueryError)
}
"""The errors a worker may report, by name (the worker sends plain tuples, not pickled objects)."""


def _worker(
    graphs: Dataset | ServedGraphs,
    text: str,
    accept: tuple[str, ...],
    limits: QueryLimits,
    base: str | None,
    writer: Connection,
) -> None:
    """The child: lock down, answer, send a header then the bytes."""
    try:
        _lock_down(limits)
        answer = answer_query(graphs, text, accept, limits.max_rows, base)
        writer.send(("ok", answer.form, answer.media_type))
        writer.send_bytes(answer.body)
    except QueryError as error:
        writer.send(("error", type(error).__name__, error.message, error.pointer))
    except MemoryError:
        message = f"the query needs more than its {limits.max_memory_mb} MB memory budget"
        writer.send(("error", ResultTooLarge.__name__, message, None))
    except RecursionError:
        writer.send(("error", MalformedQuery.__name__, "the query nests too deeply to evaluate", None))
    except Exception as error:  # rdflib and pyoxigraph raise many unrelated types while evaluating
        message = f"the query could not be evaluated ({type(error).__name__})"
        writer.send(("error", MalformedQuery.__name__, message, None))
    finally:
        writer.close()


def _lock_down(limits: QueryLimits) -> None:
    """In the worker only: no network, no programs, no graph loading, no new files while
    pyoxigraph evaluates, and a memory budget."""
    import rdflib.plugins.sparql

    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    oxigraph.seal_this_process()

    def refuse(event: str, _: tuple[Any, ...]) -> None:
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"{event} is not allowed in a query worker")

    sys.addaudithook(refuse)
    if limits.max_memory_mb > 0:
        # Past the budget pyoxigraph's allocator aborts the worker, which the parent reports as
        # ResultTooLarge; a fault handler inherited from the parent would print it as a crash.
        faulthandler.disable()
        try:
            import resource

            size = _address_space_bytes()
            if size:
                budget = size + limits.max_memory_mb * 1024 * 1024
                _, hard = resource.getrlimit(resource.RLIMIT_AS)
                if hard != resource.RLIM_INFINITY:
                    budget = min(budget, hard)
                resource.setrlimit(resource.RLIMIT_AS, (budget, hard))
        except (ImportError, OSError, ValueError):
            pass  # not Linux: the time limit still holds


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class ServedGraphs:
    """The graphs the endpoint answers from: for pyoxigraph (unless None), and for rdflib as a
    Dataset that ``read`` gives when a query first needs one (most never do)."""

    read: Callable[[], Dataset]
    oxigraph: OxigraphGraphs | None = None

    @classmethod
    def of(cls, dataset: Dataset, oxigraph: OxigraphGraphs | None = None) -> ServedGraphs:
        return cls(lambda: dataset, oxigraph)

    @functools.cached_property
    def dataset(self) -> Dataset:
        return self.read()


def answer_query(
    graphs: Dataset | ServedGraphs,
    text: str,
    accept: str | Sequence[str] = "*/*",
    max_rows: int = 10_000,
    base: str | None = None,
) -> Answer:
    """Check and evaluate ``text`` in this process (no time limit: call through run_query); by
    pyoxigraph when ``graphs`` holds its copy, by rdflib over a plain Dataset.

    >>> from rdflib import Dataset
    >>> answer_query(Dataset(), "ASK {}").body  # rdflib writes JSON with orjson when it is installed
    b'{"head":{},"boolean":true}'
    >>> answer_query(ServedGraphs.of(Dataset(), oxigraph_graphs(Dataset())), "ASK {}").body
    b'{"head":{},"boolean":true}'
    """
    from payerkg.sparql_endpoint.checks import parse_read_only

    query = parse_read_only(text, base)  # every refusal, before anything is evaluated
    form = query.algebra.name.removesuffix("Query").upper()
    tabular = form in ("SELECT", "ASK")
    media_type = choose_format("tabular" if tabular else "graph", accept)
    if form == "CONSTRUCT" and not query.algebra.template:  # CONSTRUCT {} WHERE ...: nothing to build
        return Answer(form, media_type, _write_graph(Graph(), media_type))
    if isinstance(graphs, ServedGraphs) and graphs.oxigraph is not None:
        try:
            body = oxigraph.answer(graphs.oxigraph, text, form, media_type, max_rows, base)
            return Answer(form, media_type, body)
        except oxigraph.Unparsed:
            pass
    # rdflib evaluates where it must: the graphs hold a term pyoxigraph refuses (no copy was made),
    # pyoxigraph's parser refuses a query rdflib's accepts, or the service is set to use rdflib.
    dataset = graphs.dataset if isinstance(graphs, ServedGraphs) else graphs
    return _answer_with_rdflib(dataset, query, form, media_type, max_rows)


def _answer_with_rdflib(dataset: Dataset, query: Query, form: str, media_type: str, max_rows: int) -> Answer:
    result = dataset.query(query)
    if form == "ASK":
        return Answer(form, media_type, _write_ask(bool(result.askAnswer), media_type))
    if form == "SELECT":
        rows = _bounded(iter(result), max_rows)
        return Answer(form, media_type, _write_select(result.vars or [], rows, media_type))
    graph = result.graph
    if graph is None or len(graph) > max_rows:
        raise ResultTooLarge(f"the result holds more than {max_rows} triples; narrow the query")
    return Answer(form, media_type, _write_graph(graph, media_type))


class PolicyGraphs:
    """The graphs the endpoint answers from at one revision, built once (``policy.view``): the
    pyoxigraph copy at its first use, copied quad for quad from the Oxigraph store the policy's
    store holds where it holds one (rather than from an rdflib Dataset of the whole graph, which
    an on-disk store would first parse: most of a service's start-up); the rdflib Dataset only
    when something needs it."""

    content_only = True  # no revision records: shared by graphs of one identity (SharedViews)

    def __init__(self, policy: PolicyGraph) -> None:
        self._policy = policy
        self._served: ServedGraphs | None = None
        self._building = threading.Lock()

    @functools.cached_property
    def dataset(self) -> Dataset:
        return policy_graphs(self._policy.dataset)

    def served(self) -> ServedGraphs:
        """The graphs with their pyoxigraph copy (None if pyoxigraph refuses one of their terms)."""
        with self._building:
            if self._served is None:
                source = self._policy.store.oxigraph()
                if source is None:
                    self._served = ServedGraphs(lambda: self.dataset, oxigraph_graphs(self.dataset))
                else:
                    copy = oxigraph_graphs_of(source.native_quads(excluding=[REVISIONS_GRAPH]))
                    self._served = ServedGraphs(functools.partial(named_graphs_dataset, copy), copy)
            return self._served


def policy_graphs(dataset: Dataset) -> Dataset:
    """What the endpoint serves: every named graph of ``dataset`` but the revision records (the
    audit log: authors, roles, reasons), which only admins read, through ``GET /audit``."""
    if not len(dataset.graph(REVISIONS_GRAPH)):
        return dataset
    served = new_dataset()
    for graph in dataset.graphs():
        if graph.identifier != REVISIONS_GRAPH:
            copy = served.graph(graph.identifier)
            copy += graph
    return served


def _bounded(rows: Iterator[Any], max_rows: int) -> list[Any]:
    """Up to ``max_rows`` rows, or ResultTooLarge as soon as one more is produced."""
    kept: list[Any] = []
    for row in rows:
        if len(kept) == max_rows:
            raise ResultTooLarge(f"the result has more than {max_rows} rows; narrow the query or add LIMIT")
        kept.append(row)
    return kept


def _write_ask(answer: bool, media_type: str) -> bytes:
    if media_type == CSV:
        return f"_askResult\r\n{str(answer).lower()}\r\n".encode()
    if media_type == TSV:
        return f"?_askResult\n{str(answer).lower()}\n".encode()
    result = Result("ASK")
    result.askAnswer = answer
    return _serialize(result, media_type)


def _write_select(variables: Sequence[Variable], rows: list[Any], media_type: str) -> bytes:
    if media_type == TSV:
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join(_tsv_term(row.get(v)) for v in variables) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    result = Result("SELECT")
    result.vars = list(variables)
    result.bindings = [{v: row.get(v) for v in variables if row.get(v) is not None} for row in rows]
    return _serialize(result, media_type)


def _tsv_term(term: Node | None) -> str:
    if term is None:
        return ""
    return str(term.n3()).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_RESULT_WRITERS = {SPARQL_JSON: "json", SPARQL_XML: "xml", CSV: "csv"}


def _serialize(result: Result, media_type: str) -> bytes:
    body = result.serialize(format=_RESULT_WRITERS[media_type], encoding="utf-8")
    return body if isinstance(body, bytes) else b""


_GRAPH_WRITERS = {TURTLE: "turtle", NTRIPLES: "nt", JSON_LD: "json-ld", RDF_XML: "xml"}


def _write_graph(graph: Graph, media_type: str) -> bytes:
    out = Graph()
    for prefix, namespace in PREFIXES.items():
        out.bind(prefix, str(namespace))
    out += graph
    try:
        return out.serialize(format=_GRAPH_WRITERS[media_type], encoding="utf-8")
    except ValueError:  # RDF/XML cannot write a predicate IRI that ends in no XML name
        raise NotAcceptable(
            f"this result cannot be written as {media_type}; ask for " + ", ".join(GRAPH_FORMATS[:3]),
            "accept",
        ) from None
