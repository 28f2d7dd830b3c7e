"""A compiled SHACL Core engine. Imports nothing from payerkg outside itself.

The modules: ``graph`` (the indexed data graph), ``shapes`` (reading the shapes graph),
``paths``, ``targets``, ``components/`` (one module per group of constraint components),
``compile`` (shapes into closures), ``gates`` (implication shapes skipped where they cannot
fire), ``engine`` (the compiled shapes graph), ``report`` (results and the W3C report graph) and
``production`` (the engine plus pyshacl on the shapes it leaves).
"""
