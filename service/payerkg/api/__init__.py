"""The HTTP API: parses requests, calls payerkg.core, translates answers and errors."""
