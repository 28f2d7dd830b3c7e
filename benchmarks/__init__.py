"""Benchmarks: reproducible speed measurements, written to docs/benchmarks.md (never test assertions)."""
