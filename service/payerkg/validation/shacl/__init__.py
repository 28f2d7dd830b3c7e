"""A compiled SHACL Core engine. Imports nothing from payerkg."""
