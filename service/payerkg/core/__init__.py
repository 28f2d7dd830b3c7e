"""The domain core: plain functions on rdflib graphs. No web or CLI imports here."""
