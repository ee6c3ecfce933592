"""A person with a believable record across organisations, for the portal's page tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from records.models import Organisation, Person, Sensitivity
from tests.records.access_factories import actor_at, entry, role
from tests.records.factories import (
    GpPracticeFactory,
    OrganisationFactory,
    PersonAddressFactory,
    PersonFactory,
    SourceSystemFactory,
)

LETTER = (
    "DISCHARGE SUMMARY\n\nDiagnosis: Community-acquired pneumonia\n\nSummary of stay:\n"
    "Treated with intravenous antibiotics, then oral.\n\n"
    "Actions for the GP:\nRepeat chest X-ray in six weeks."
)
HBA1C = "1019431000000105"


def observation(display: str, code: str, value: float, unit: str, low, high, flag: str = "N") -> dict:
    reference = {}
    if low is not None:
        reference["low"] = {"value": low, "unit": unit}
    if high is not None:
        reference["high"] = {"value": high, "unit": unit}
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]},
        "valueQuantity": {"value": value, "unit": unit},
        "referenceRange": [reference],
        "interpretation": [{"coding": [{"code": flag}]}],
    }


@dataclass
class Record:
    person: Person
    practice: Organisation
    hospital: Organisation
    council: Organisation
    entries: dict = field(default_factory=dict)


def record_person(*, encounters: int = 3, **person_fields) -> Record:
    """Registered at a practice, seen at a hospital, supported by a council."""
    practice = GpPracticeFactory(name="Bridport Medical Centre")
    hospital = OrganisationFactory(name="West Dorset Hospital")
    council = OrganisationFactory(name="Dorset Council", kind=Organisation.Kind.COUNCIL_SOCIAL_CARE)
    gp_source = SourceSystemFactory(organisation=practice, name="Practice system")
    lab = SourceSystemFactory(organisation=hospital, name="Laboratory system")
    pas = SourceSystemFactory(organisation=hospital, name="Patient administration")
    docs = SourceSystemFactory(organisation=hospital, name="Document store")
    social = SourceSystemFactory(organisation=council, name="Case management")
    person = PersonFactory(
        registered_practice=practice,
        registered_gp_name="Dr Ada Lovelace",
        family_name="Hardy",
        given_names="Thomasina",
        date_of_birth=date(1948, 6, 2),
        gender="female",
        **person_fields,
    )
    PersonAddressFactory(person=person, lines="1 High West Street", town="Dorchester", postcode="DT1 1UZ")
    r = Record(person=person, practice=practice, hospital=hospital, council=council)
    e = r.entries
    e["allergy"] = entry(
        person,
        source=gp_source,
        category="allergy",
        code_display="Penicillin",
        summary="Penicillin: rash",
        status="active",
        subtype="drug",
        resource={"resourceType": "AllergyIntolerance"},
    )
    e["problem"] = entry(
        person,
        source=gp_source,
        category="problem",
        code_display="Type 2 diabetes mellitus",
        summary="Type 2 diabetes mellitus (since 3 Mar 2015)",
        status="active",
        days_ago=3000,
    )
    e["medication"] = entry(
        person,
        source=gp_source,
        category="medication",
        summary="Metformin 500mg tablets: one twice a day",
        status="active",
        resource={"resourceType": "MedicationRequest", "status": "active"},
    )
    e["kin"] = entry(
        person,
        source=gp_source,
        category="related_person",
        subtype="next-of-kin",
        status="active",
        summary="Next of kin: Jude Fawley (son), 07700 900123",
        resource={"resourceType": "RelatedPerson"},
    )
    e["carer"] = entry(
        person,
        source=social,
        category="related_person",
        subtype="carer",
        status="active",
        summary="Carer: Sue Bridehead (daughter), 07700 900456",
        resource={"resourceType": "RelatedPerson"},
    )
    e["care_plan"] = entry(
        person,
        source=social,
        category="care_plan",
        subtype="home-care",
        status="active",
        summary="Home care: Wessex Home Care; review due 1 Mar 2027",
        days_ago=200,
        review_due_on=timezone.localdate() + timedelta(days=80),
        allocated_team="West Dorset team",
        resource={
            "resourceType": "CarePlan",
            "status": "active",
            "title": "Care and support plan: home care",
            "description": "Two calls a day for personal care.",
            "author": {"display": "Gabriel Oak, social worker"},
            "period": {"start": "2026-05-01"},
            "activity": [
                {
                    "detail": {
                        "code": {"text": "Home care"},
                        "status": "in-progress",
                        "performer": [{"display": "Wessex Home Care"}],
                    }
                }
            ],
        },
    )
    e["upcoming"] = entry(
        person,
        source=pas,
        category="appointment",
        status="booked",
        days_ago=-14,
        summary="Diabetes clinic: booked",
        resource={"resourceType": "Appointment", "status": "booked"},
    )
    e["alert"] = entry(
        person,
        source=social,
        category="alert",
        status="active",
        code_display="At risk of falls",
        summary="At risk of falls",
        resource={"resourceType": "Flag", "status": "active"},
    )
    e["safeguarding"] = entry(
        person,
        source=social,
        category="alert",
        status="active",
        code_display="Vulnerable adult",
        summary="Safeguarding concern: vulnerable adult",
        sensitivity=Sensitivity.SAFEGUARDING,
        resource={"resourceType": "Flag", "status": "active"},
    )
    e["letter"] = entry(
        person,
        source=docs,
        category="document",
        subtype="discharge-letter",
        status="current",
        summary="Discharge summary: pneumonia (West Dorset Hospital)",
        days_ago=20,
        resource={
            "resourceType": "DocumentReference",
            "description": "Discharge summary: pneumonia",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "title": "Discharge summary",
                        "data": base64.b64encode(LETTER.encode()).decode(),
                    }
                }
            ],
        },
    )
    for n in range(encounters):
        e[f"encounter{n}"] = entry(
            person,
            source=gp_source,
            category="encounter",
            status="finished",
            days_ago=30 + n,
            summary=f"GP consultation {n}",
            resource={"resourceType": "Encounter", "status": "finished"},
        )
    for n, (value, flag) in enumerate([(58, "H"), (54, "H"), (47, "N")]):
        days = 400 - n * 150
        report = entry(
            person,
            source=lab,
            category="lab_report",
            subtype="hba1c",
            code="HBA1C",
            code_display="HbA1c",
            summary=f"HbA1c: {value}",
            days_ago=days,
            status="final",
            resource={"resourceType": "DiagnosticReport", "status": "final"},
        )
        e[f"report{n}"] = report
        e[f"hba1c{n}"] = entry(
            person,
            source=lab,
            category="lab_result",
            subtype="hba1c",
            code=HBA1C,
            code_display="HbA1c",
            summary=f"HbA1c: {value} mmol/mol",
            days_ago=days,
            parent=report,
            status="final",
            resource=observation("HbA1c", HBA1C, value, "mmol/mol", 20, 48, flag),
        )
    return r


def clinician_for(record: Record, code: str = "gp", **flags):
    return actor_at(record.practice, role_=role(code, **flags))
