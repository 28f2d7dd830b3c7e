"""A remote store: any SPARQL 1.1 server, through the standard Query and Update protocols only.

Every read is a SELECT answered as SPARQL JSON results; every write is a SPARQL Update. No Graph
Store Protocol and no server extension is needed. A server answers in ways payerkg never takes
on trust: an answer that is not SPARQL results (an HTML page, say) is an error, a graph read whose
statement count differs from the server's own count was cut short (a result row limit) and is
an error, and a load reads back how many statements each graph holds before it reports success.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
import orjson
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from payerkg.errors import StoreError
from payerkg.graph.queries import Row, query_text
from payerkg.namespaces import STORED_GRAPHS
from payerkg.stores.base import Store, iri, new_dataset, plain_literal, substituted, with_values

OURS = "FILTER (" + " || ".join(f'STRSTARTS(STR(?g), "{prefix}")' for prefix in STORED_GRAPHS) + ")"
"""payerkg's named graphs only: a server may hold others (Virtuoso's own, another application's)."""
RESULTS = ("application/sparql-results+json", "application/json")
"""Media types of SPARQL JSON results (some servers label them plain JSON)."""
LOAD_BATCH = 1_000
"""Statements per insert request when loading: Virtuoso 7.2 refuses a template much larger."""


class RemoteStore(Store):
    """A SPARQL 1.1 server: SELECT over the Query protocol, everything else by SPARQL Update."""

    kind = "remote"
    bulk_reads = False

    def __init__(self, query_url: str, update_url: str, timeout_s: float = 30.0) -> None:
        self.query_url, self.update_url = query_url, update_url
        # Never follows redirects: the configured server is the only place data comes from.
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        query, projected = substituted(query_text(name), bindings)
        return [projected | row for row in self._select_text(query)]

    def select_each(self, name: str, variable: str, terms: Sequence[URIRef]) -> list[Row]:
        return self._select_text(with_values(query_text(name), variable, terms))

    def _select_text(self, text: str) -> list[Row]:
        response = self._request("POST", self.query_url, data={"query": text}, headers={"accept": RESULTS[0]})
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in RESULTS:
            raise StoreError(
                f"the SPARQL server at {self.query_url} answered {media or 'no content type'}, not SPARQL "
                "JSON results: is it a SPARQL query endpoint?"
            )
        if "x-sparql-maxrows" in response.headers:  # Virtuoso cut the result at its row limit
            raise StoreError(
                f"the SPARQL server at {self.query_url} cut a result at its row limit "
                f"({response.headers['x-sparql-maxrows']} rows); raise it "
                "(Virtuoso: [SPARQL] ResultSetMaxRows)"
            )
        try:
            bindings = orjson.loads(response.content)["results"]["bindings"]
            blank: dict[str, BNode] = {}  # labels name a node within one result only
            return [{k: _from_json(v, blank) for k, v in binding.items()} for binding in bindings]
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(f"the SPARQL server at {self.query_url} sent malformed JSON results") from error

    def snapshot(self) -> Dataset:
        dataset = new_dataset()
        counts = self._counts()
        for name in sorted(counts):
            copy = dataset.graph(name)
            copy += self._read_graph(name, counts[name])
        return dataset

    def graph_names(self) -> set[URIRef]:
        rows = self._select_text(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {OURS} }}")
        return {g for row in rows if isinstance(g := row.get("g"), URIRef)}

    def graph(self, name: URIRef) -> Graph:
        return self._read_graph(name, self._counts([name]).get(name, 0))

    def _counts(self, names: list[URIRef] | None = None) -> dict[URIRef, int]:
        """How many statements the server says each named graph (or each of ``names``) holds.
        Counting only the graphs a load writes keeps a seed on top of a large store from reading
        all of it (10^7 statements: past the client's timeout)."""
        where = (
            f"VALUES ?g {{ {' '.join(name.n3() for name in names)} }} GRAPH ?g {{ ?s ?p ?o }}"
            if names
            else f"GRAPH ?g {{ ?s ?p ?o }} {OURS}"
        )
        rows = self._select_text(f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ {where} }} GROUP BY ?g")
        counts: dict[URIRef, int] = {}
        for row in rows:
            graph, count = row.get("g"), row.get("n")
            if isinstance(graph, URIRef) and isinstance(count, Literal):
                counts[graph] = int(count.toPython())
        return counts

    def _read_graph(self, name: URIRef, expected: int) -> Graph:
        """One named graph, read by one SELECT; refused when the server sends fewer statements
        than it counts (a row limit cut it), never returned short."""
        graph = Graph(identifier=name)
        for row in self._select_text(f"SELECT ?s ?p ?o WHERE {{ GRAPH {name.n3()} {{ ?s ?p ?o }} }}"):
            graph.add((row["s"], row["p"], row["o"]))
        if len(graph) != expected:
            raise StoreError(
                f"the SPARQL server at {self.query_url} sent {len(graph)} of the {expected} statements of "
                f"graph {name}: a result row limit cut it; raise the server's limit"
            )
        return graph

    def update(self, text: str) -> None:
        self._request("POST", self.update_url, data={"update": text})

    def load(self, dataset: Dataset) -> None:
        """Insert, then read back each graph's statement count: a server that answers 2xx and
        stores nothing (or part) is an error naming the graph, never a success.

        A large load takes several update requests (see ``_insert_data``), so on a server it is not
        one transaction: if one fails, or the count read back is wrong, the graphs that were empty
        before are dropped again, and the error says so."""
        graphs = [g for g in dataset.graphs() if isinstance(g.identifier, URIRef) and len(g)]
        names = [URIRef(g.identifier) for g in graphs]
        before = self._counts(names)
        try:
            for text in _insert_data(graphs, LOAD_BATCH):
                self.update(text)
            after = self._counts(names)
            for graph in graphs:
                name = URIRef(graph.identifier)
                stored, had = after.get(name, 0), before.get(name, 0)
                if stored < max(had, len(graph)) or (had == 0 and stored != len(graph)):
                    raise StoreError(
                        f"the SPARQL server at {self.update_url} accepted the load but graph {name} "
                        f"holds {stored} statements, not {len(graph)}: is it a SPARQL update endpoint?"
                    )
        except StoreError as error:
            new = [URIRef(g.identifier).n3() for g in graphs if not before.get(URIRef(g.identifier))]
            try:
                if new:
                    self.update("; ".join(f"DROP SILENT GRAPH {name}" for name in new))
            except StoreError:
                raise StoreError(f"{error.message}; the graphs it added could not be removed") from error
            raise StoreError(f"{error.message}; the graphs this load created were removed") from error

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server at {url} did not answer: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            # The first line of the server's own words (Virtuoso names the SPARQL it cannot
            # compile), cut short: the lines after it may repeat the query with its bound values.
            said = next((line.strip() for line in response.text.splitlines() if line.strip()), "")[:300]
            raise StoreError(
                f"the SPARQL server at {url} answered {response.status_code}" + (f": {said}" if said else "")
            )
        return response


def _insert_data(graphs: Iterable[Graph], batch: int) -> Iterable[str]:
    """Update requests inserting every statement of ``graphs`` (terms written by rdflib), at most
    about ``batch`` statements each; statements that share a blank node stay in one request.

    ``INSERT { ... } WHERE {}`` rather than ``INSERT DATA``: the same data, but Virtuoso 7.2
    refuses blank nodes in INSERT DATA (and a template of more than about 1,000 statements). A
    blank node label names one node throughout a request's template."""
    parts: list[str] = []
    size = 0
    for graph in graphs:
        name = URIRef(graph.identifier).n3()
        lines: list[str] = []
        for unit in _units(graph):
            if lines and size + len(lines) + len(unit) > batch:
                parts.append(f"GRAPH {name} {{\n" + "\n".join(lines) + "\n}")
                yield "INSERT {\n" + "\n".join(parts) + "\n} WHERE {}"
                parts, lines, size = [], [], 0
            lines += [f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in unit]
        if lines:
            parts.append(f"GRAPH {name} {{\n" + "\n".join(lines) + "\n}")
            size += len(lines)
    if parts:
        yield "INSERT {\n" + "\n".join(parts) + "\n} WHERE {}"


Triple = tuple[Node, Node, Node]


def _units(graph: Graph) -> list[list[Triple]]:
    """The statements of ``graph`` in groups that must be inserted together: one group per
    statement without blank nodes, one per set of statements joined by blank nodes."""
    parent: dict[BNode, BNode] = {}

    def root(node: BNode) -> BNode:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    plain: list[list[Triple]] = []
    linked: list[Triple] = []
    for triple in graph:
        blanks = [root(term) for term in triple if isinstance(term, BNode)]
        if not blanks:
            plain.append([triple])
            continue
        linked.append(triple)
        for other in blanks[1:]:
            parent[root(other)] = root(blanks[0])
    groups: dict[BNode, list[Triple]] = {}
    for triple in linked:
        first = next(term for term in triple if isinstance(term, BNode))
        groups.setdefault(root(first), []).append(triple)
    return plain + list(groups.values())


def _from_json(value: dict[str, str], blank: dict[str, BNode]) -> Node:
    kind = value["type"]
    if kind == "uri":
        return iri(value["value"])
    if kind == "bnode":
        return blank.setdefault(value["value"], BNode())
    return plain_literal(value["value"], value.get("datatype"), value.get("xml:lang"))
