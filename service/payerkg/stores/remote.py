"""A remote store: any SPARQL 1.1 server over HTTP (Query, Update and Graph Store protocols)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.term import Identifier, Node

from payerkg.errors import StoreError
from payerkg.graph.queries import Row, query_text
from payerkg.stores.base import Store, new_dataset, plain_literal, substituted


class RemoteStore(Store):
    """A SPARQL 1.1 server: Query, Update and Graph Store protocols over HTTP."""

    kind = "remote"
    bulk_reads = False

    def __init__(self, query_url: str, update_url: str, store_url: str, timeout_s: float = 30.0) -> None:
        self.query_url, self.update_url, self.store_url = query_url, update_url, store_url
        # Never follows redirects: the configured server is the only place data comes from.
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def select(self, name: str, bindings: Mapping[str, Identifier]) -> list[Row]:
        query, projected = substituted(query_text(name), bindings)
        return [projected | row for row in self._select_text(query)]

    def _select_text(self, text: str) -> list[Row]:
        response = self._request(
            "POST",
            self.query_url,
            data={"query": text},
            headers={"accept": "application/sparql-results+json"},
        )
        body = response.json()
        return [{k: _from_json(v) for k, v in binding.items()} for binding in body["results"]["bindings"]]

    def snapshot(self) -> Dataset:
        response = self._request("GET", self.store_url, headers={"accept": "application/n-quads"})
        dataset = new_dataset()
        if response.content.strip():
            dataset.parse(data=response.content, format="nquads")
        return dataset

    def graph_names(self) -> set[URIRef]:
        rows = self._select_text("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        return {g for row in rows if isinstance(g := row.get("g"), URIRef)}

    def graph(self, name: URIRef) -> Graph:
        response = self._request(
            "GET", self.store_url, params={"graph": str(name)}, headers={"accept": "application/n-triples"}
        )
        graph = Graph(identifier=name)
        graph.parse(data=response.content, format="nt")
        return graph

    def update(self, text: str) -> None:
        self._request("POST", self.update_url, data={"update": text})

    def load(self, dataset: Dataset) -> None:
        self._request(
            "POST",
            self.store_url,
            content=dataset.serialize(format="nquads", encoding="utf-8"),
            headers={"content-type": "application/n-quads"},
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL server at {url} did not answer: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise StoreError(f"the SPARQL server at {url} answered {response.status_code}")
        return response


def _from_json(value: dict[str, str]) -> Node:
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    return plain_literal(value["value"], value.get("datatype"), value.get("xml:lang"))
