"""The facets of a coverage question, in one registry that every engine reads.

A facet is one thing about an encounter that a rule version can be limited to (its scope, such as
``pk:forModality``) or can require (such as ``pk:requiresModality``). Coverage answers match scopes
and evaluate requirements, the derived SHACL shapes check the same properties on an encounter, and
conflict detection compares them between versions: all from the rows below. Adding a facet is one
row here (after its properties are in the ontology).

>>> [facet.name for facet in FACETS if facet.vocabulary is None]
['rural', 'aco_assigned']
>>> by_name("patient_location").words
'patient location'
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from payerkg.namespaces import PK


@dataclass(frozen=True)
class Facet:
    """One facet: how rules scope and require it and where an encounter states it."""

    name: str
    """The field of the coverage question and the name of its API parameter and CLI option."""
    words: str
    """How answers and findings name it."""
    scope: URIRef | None
    """The property that limits where a rule version holds; None if rules only require it."""
    requirement: URIRef | None
    """The property by which a rule version requires a value; None if rules only scope by it."""
    vocabulary: URIRef | None
    """The class whose members (by ``skos:notation``) are its values; None for a yes/no facet."""
    encounter_path: tuple[URIRef, ...]
    """The properties from an encounter to where it states the facet."""
    shape_suffix: str
    """The end of the IRIs of the shapes derived for its requirement (kept stable)."""
    unstated_is_met: bool = False
    """An encounter or question that does not state it is read as meeting the requirement."""

    @property
    def id(self) -> str:
        """The id of the condition an answer lists for its requirement."""
        return self.name.replace("_", "-")


FACETS: tuple[Facet, ...] = (
    Facet(
        "modality",
        "modality",
        PK.forModality,
        PK.requiresModality,
        PK.Modality,
        (PK.encounterModality,),
        "modality",
    ),
    Facet(
        "patient_status",
        "patient status",
        PK.forPatientStatus,
        PK.requiresPatientStatus,
        PK.PatientStatus,
        (PK.patient, PK.patientStatus),
        "patient-status",
    ),
    Facet(
        "patient_location",
        "patient location",
        PK.forPatientSetting,
        PK.requiresPatientSetting,
        PK.PatientSetting,
        (PK.patientLocation, PK.setting),
        "setting",
    ),
    Facet(
        "purpose",
        "clinical purpose",
        PK.forPurpose,
        None,
        PK.ClinicalPurpose,
        (PK.encounterPurpose,),
        "purpose",
    ),
    Facet(
        "rural",
        "rural location",
        PK.forRuralLocation,
        PK.requiresRuralLocation,
        None,
        (PK.patientLocation, PK.rural),
        "rural",
    ),
    Facet(
        "aco_assigned",
        "assignment to a Shared Savings Program ACO",
        PK.forAcoAssignment,
        None,
        None,
        (PK.patient, PK.acoAssigned),
        "aco",
    ),
    # Rules name the practitioners who may bill; an unstated practitioner is read as an eligible
    # one, and the answer lists who is eligible.
    Facet(
        "practitioner_type",
        "practitioner type",
        None,
        PK.eligiblePractitionerType,
        PK.PractitionerType,
        (PK.practitioner, PK.practitionerType),
        "practitioner-type",
        unstated_is_met=True,
    ),
)

SCOPED: tuple[Facet, ...] = tuple(facet for facet in FACETS if facet.scope is not None)
"""The facets that can limit where a rule version holds."""


def by_name(name: str) -> Facet:
    """The facet with this name (KeyError if none)."""
    for facet in FACETS:
        if facet.name == name:
            return facet
    raise KeyError(name)
