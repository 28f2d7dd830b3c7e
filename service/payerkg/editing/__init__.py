"""Editing the graph: proposals, revisions and their audit log, diffs, what-if and the review list."""
