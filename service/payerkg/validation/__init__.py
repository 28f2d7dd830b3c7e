"""Encounter validation: input formats, shapes derived from rules, graph quality checks."""
