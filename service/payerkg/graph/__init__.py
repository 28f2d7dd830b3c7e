"""The graph at a revision: loading, named queries, look-ups and the rule model every engine reads."""
