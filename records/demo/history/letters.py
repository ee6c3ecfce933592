"""Readable letters (discharge summaries, clinic and emergency department letters) as DocumentReferences."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime

from records.demo import codes
from records.demo.codes import MEDICINES, SNOMED
from records.demo.history.context import Ctx, fmt_date
from records.demo.organisations import OrganisationSpec
from records.models import EntryCategory
from records.nhs_numbers import formatted


@dataclass(frozen=True)
class Letter:
    kind: tuple[str, str]  # SNOMED document type
    title: str
    body: str


def _header(ctx: Ctx, organisation: OrganisationSpec, heading: str) -> str:
    person, address = ctx.person, ctx.person.address
    return (
        f"{organisation.name}\n{heading}\n\n"
        f"Patient: {person.given_names} {person.family_name.upper()}\n"
        f"NHS number: {formatted(person.nhs_number)}    Date of birth: {fmt_date(person.date_of_birth)}\n"
        f"Address: {', '.join(address.lines.splitlines())}, {address.town} {address.postcode}\n"
        f"GP: {person.gp.name}, {person.practice.name} ({person.practice.ods_code})\n\n"
    )


def _medicines(ctx: Ctx, new: tuple[str, ...]) -> str:
    lines = [f"- {MEDICINES[key].display}: {MEDICINES[key].dose.lower()} (new)" for key in new]
    if not lines:
        return "No changes to regular medicines."
    return "\n".join(lines) + "\nContinue regular medicines as before."


def discharge_letter(
    ctx: Ctx,
    organisation: OrganisationSpec,
    *,
    admitted: datetime,
    discharged: datetime,
    ward: str,
    consultant: str,
    specialty: str,
    diagnosis: str,
    treatment: str,
    medicines: tuple[str, ...],
    follow_up: str,
    destination: str,
    emergency: bool,
) -> Letter:
    other = [codes.CONDITION_BY_KEY[key].display for key in ctx.conditions][:6]
    route = "emergency, via the emergency department" if emergency else "elective"
    body = _header(ctx, organisation, "DISCHARGE SUMMARY") + (
        f"Admitted: {fmt_date(admitted.date())} ({route})\n"
        f"Discharged: {fmt_date(discharged.date())} to {destination.lower()}\n"
        f"Ward: {ward}    Consultant: {consultant} ({specialty})\n\n"
        f"Diagnosis: {diagnosis}\n"
        f"Other problems: {'; '.join(other) if other else 'none recorded'}\n\n"
        f"Summary of stay:\n{treatment}\n\n"
        f"Medicines on discharge:\n{_medicines(ctx, medicines)}\n\n"
        f"Actions for the GP:\n{follow_up}\n\n"
        f"Signed electronically by {consultant}, {fmt_date(discharged.date())}."
    )
    return Letter(codes.DISCHARGE_SUMMARY, f"Discharge summary: {diagnosis}", body)


def clinic_letter(
    ctx: Ctx,
    organisation: OrganisationSpec,
    *,
    seen: date,
    clinician: str,
    specialty: str,
    reason: str,
    first_visit: bool,
    outcome: str,
) -> Letter:
    person = ctx.person
    greeting = f"Dear {person.gp.name},\n\n"
    first, clinic = person.given_names.split()[0], specialty.lower()
    if first_visit:
        name = " ".join(part for part in (person.title, first, person.family_name) if part)
        opening = (
            f"Thank you for referring {name}, whom I saw in the {clinic} clinic on {fmt_date(seen)} about "
            f"{reason.lower()}."
        )
    else:
        opening = f"I reviewed {first} in the {clinic} clinic on {fmt_date(seen)}."
    findings = ctx.rng.choice(
        (
            "Symptoms are stable and examination today was unremarkable.",
            "There has been some improvement since the last visit; we discussed the options in detail.",
            "Examination showed no new concerns. Recent blood results were reviewed with the patient.",
            "The history and examination are in keeping with the working diagnosis.",
        )
    )
    body = _header(ctx, organisation, f"{specialty.upper()} OUTPATIENT CLINIC") + (
        f"{greeting}{opening}\n\n{findings}\n\nPlan: {outcome}\n\nYours sincerely,\n\n{clinician}\n"
        f"{specialty}, {organisation.name}\ncc: the patient"
    )
    return Letter(codes.CLINICAL_LETTER, f"{specialty} clinic letter, {fmt_date(seen)}", body)


def emergency_letter(
    ctx: Ctx, organisation: OrganisationSpec, *, seen: datetime, complaint: str, outcome: str, clinician: str
) -> Letter:
    body = _header(ctx, organisation, "EMERGENCY DEPARTMENT ATTENDANCE") + (
        f"Attended: {fmt_date(seen.date())} at {seen:%H:%M}\n"
        f"Presenting complaint: {complaint}\n\n"
        f"Assessment: observations within normal limits after treatment.\n"
        f"Outcome: {outcome}\n\n"
        f"Seen by {clinician}."
    )
    return Letter(codes.CLINICAL_LETTER, f"Emergency department letter: {complaint.lower()}", body)


def document_add(
    ctx: Ctx,
    source: str,
    letter: Letter,
    *,
    written: datetime,
    author: dict,
    organisation: OrganisationSpec,
    encounter_key: str | None,
    specialty: str = "",
    subtype: str,
) -> None:
    key = ctx.key("D")
    code, display = letter.kind
    context: dict = {}
    if encounter_key:
        context["encounter"] = [
            {"identifier": {"system": f"https://fhir.example.nhs.uk/Id/{source}", "value": encounter_key}}
        ]
    if specialty:
        context["practiceSetting"] = codes.concept(codes.SPECIALTY, specialty, codes.SPECIALTIES[specialty])
    resource = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": f"https://fhir.example.nhs.uk/Id/{source}", "value": key},
        "status": "current",
        "docStatus": "final",
        "type": codes.concept(SNOMED, code, display),
        "subject": ctx.subject,
        "date": written.isoformat(),
        "author": [author],
        "custodian": ctx.org(organisation),
        "description": letter.title,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "language": "en-GB",
                    "data": base64.b64encode(letter.body.encode()).decode("ascii"),
                    "title": letter.title,
                    "creation": written.isoformat(),
                }
            }
        ],
    }
    if context:
        resource["context"] = context
    ctx.add(
        source,
        EntryCategory.DOCUMENT,
        resource,
        key=key,
        summary=f"{letter.title} ({organisation.name})",
        occurred_at=written,
        subtype=subtype,
        code=(SNOMED, code, display),
        status="current",
    )
