"""The command line: parses arguments, calls the service layer, prints, and sets the exit code."""
