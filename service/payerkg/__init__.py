"""payerkg: a payer-policy knowledge graph for US telehealth billing."""

__version__ = "0.4.0"
