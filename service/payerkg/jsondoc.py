"""JSON documents as parsed, before a schema gives them a shape."""

from typing import Any

JSONObject = dict[str, Any]
"""A parsed JSON object: its shape is checked by a JSON Schema (encounters, changes, the OpenAPI
document), not by the type system."""
