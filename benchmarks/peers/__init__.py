"""Peers side by side: pyshacl, Apache Jena SHACL and payerkg's compiled engine on payerkg's shapes
and generated encounters exported as Turtle files (`make bench-peers`, `python -m benchmarks.peers`)."""
