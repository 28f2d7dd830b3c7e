"""The command line: parses arguments, calls payerkg.core, prints, and sets the exit code."""
