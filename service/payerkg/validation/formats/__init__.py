"""Claim formats read as encounters: FHIR R4 and X12 837P."""
