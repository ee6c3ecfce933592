"""What every item mapper shares: the patient element of each type, Skip, and building the ItemDraft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ingestion.canonical import ItemDraft
from ingestion.fhir.common import (
    clip,
    codings,
    concept_text,
    parse_datetime,
    pick_coding,
)
from ingestion.fhir.rewrite import MapContext, stored_resource
from ingestion.fhir.sensitivity import sensitivity_of

PATIENT_ELEMENT: dict[str, str] = {
    "Encounter": "subject",
    "Condition": "subject",
    "AllergyIntolerance": "patient",
    "MedicationStatement": "subject",
    "MedicationRequest": "subject",
    "Observation": "subject",
    "DiagnosticReport": "subject",
    "Appointment": "participant",
    "ServiceRequest": "subject",
    "CarePlan": "subject",
    "RelatedPerson": "patient",
    "DocumentReference": "subject",
    "Flag": "subject",
}

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


@dataclass(frozen=True)
class Skip:
    """Valid, but not for the record; reported as a warning with the element at fault."""

    reason: str
    element: str = ""


def moment(*values: Any, end: bool = False) -> datetime | None:
    for value in values:
        moment = parse_datetime(value, end=end)
        if moment:
            return moment
    return None


def period_of(resource: dict[str, Any], name: str) -> dict[str, Any]:
    value = resource.get(name)
    return value if isinstance(value, dict) else {}


def first_code(concept: Any) -> str:
    found = codings(concept)
    return str(found[0]["code"]) if found else ""


def status_code(concept: Any) -> str:
    return first_code(concept) or concept_text(concept)


def item(
    resource: dict[str, Any],
    ctx: MapContext,
    category: str,
    *,
    summary: str,
    codes: tuple[Any, ...] = (),
    subtype: str = "",
    occurred_at: datetime | None = None,
    ended_at: datetime | None = None,
    status: str = "",
    review_due_on: date | None = None,
    sensitive_concepts: tuple[Any, ...] = (),
    medication: dict[str, Any] | None = None,
) -> ItemDraft:
    system, code, display = pick_coding(*codes)
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    updated = parse_datetime(meta.get("lastUpdated")) or ctx.source_updated_at
    return ItemDraft(
        category=category,
        resource=stored_resource(resource, PATIENT_ELEMENT[resource["resourceType"]], ctx, medication),
        business_key=ctx.business_key,
        source_updated_at=updated,
        summary=clip(summary or display or resource["resourceType"]),
        subtype=subtype[:40],
        occurred_at=occurred_at,
        ended_at=ended_at,
        review_due_on=review_due_on,
        code_system=system[:120],
        code=code[:64],
        code_display=clip(display),
        status=str(status or "")[:40],
        sensitivity=sensitivity_of(resource, (*codes, *sensitive_concepts)),
        parent_business_key=ctx.parent_key,
    )
