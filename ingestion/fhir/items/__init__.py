"""UK Core clinical resources → ItemDraft, one mapper per resource type.

Each mapper reads the resource as received; the stored copy (rewrite.stored_resource) has its patient
and in-body references rewritten. Types the record does not hold are skipped with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingestion.canonical import ItemDraft
from ingestion.fhir.items.base import PATIENT_ELEMENT, Skip
from ingestion.fhir.items.care import care_plan, document, related_person
from ingestion.fhir.items.clinical import (
    allergy,
    appointment,
    condition,
    encounter,
    flag,
    medication,
    observation,
    referral,
    report,
    report_category,
)
from ingestion.fhir.rewrite import MapContext

MAPPERS: dict[str, Callable[[dict[str, Any], MapContext], ItemDraft | Skip]] = {
    "Encounter": encounter,
    "Condition": condition,
    "AllergyIntolerance": allergy,
    "MedicationStatement": medication,
    "MedicationRequest": medication,
    "Observation": observation,
    "DiagnosticReport": report,
    "Appointment": appointment,
    "ServiceRequest": referral,
    "CarePlan": care_plan,
    "RelatedPerson": related_person,
    "DocumentReference": document,
    "Flag": flag,
}

# Why the types the record does not hold are skipped (warnings, never errors: see decision 0003).
SKIP_REASONS: dict[str, str] = {
    "Claim": "billing data are outside the shared care record",
    "ExplanationOfBenefit": "billing data are outside the shared care record",
    "Coverage": "insurance data are outside the shared care record",
    "MedicationDispense": "the record keeps the prescription (MedicationRequest), not each dispensing",
    "MedicationAdministration": (
        "the record keeps the prescription (MedicationRequest), not each administration"
    ),
    "Immunization": "no record category holds immunisations yet",
    "Procedure": "no record category holds procedures yet",
    "MessageHeader": "it is the message envelope",
    "Provenance": "provenance of the sender's own records is not kept",
    "Bundle": "bundles nested in a bundle are not read",
}


def skip_reason(resource_type: str) -> str:
    return SKIP_REASONS.get(resource_type, "the shared care record has no category for it")


def pre_skip(resource: dict[str, Any]) -> Skip | None:
    """Decided from the resource alone, before mapping: a report that is neither lab nor imaging."""
    if resource.get("resourceType") == "DiagnosticReport":
        found = report_category(resource)
        return found if isinstance(found, Skip) else None
    return None


__all__ = ["MAPPERS", "PATIENT_ELEMENT", "Skip", "pre_skip", "skip_reason"]
