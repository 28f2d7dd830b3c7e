"""The read-only SPARQL endpoint: query checks and the worker process that evaluates them."""
