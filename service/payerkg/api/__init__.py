"""The HTTP API: parses requests, calls the service layer, translates answers and errors."""
