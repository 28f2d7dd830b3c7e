"""The service layer: the operations the API, the CLI and the web pages call."""
