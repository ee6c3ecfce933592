"""Encounters, problems, allergies, medicines, results, reports, appointments, referrals, alerts."""

from __future__ import annotations

from typing import Any

from ingestion.canonical import ItemDraft
from ingestion.fhir.common import (
    SNOMED,
    as_list,
    codings,
    concept_text,
    dicts,
    has_code,
    slug,
)
from ingestion.fhir.items.base import Skip, first_code, item, moment, period_of, status_code
from ingestion.fhir.rewrite import MapContext
from records.models import EntryCategory, Sensitivity

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Diagnostic service sections (HL7 table 0074) that are imaging, and the rest that are laboratory.
IMAGING_SECTIONS = frozenset({"RAD", "CT", "CUS", "NMR", "NMS", "OUS", "RUS", "VUS", "XRC", "RX", "IMG"})
LAB_SECTIONS = frozenset(
    {
        "LAB",
        "HM",
        "CH",
        "MB",
        "MCB",
        "MYC",
        "SP",
        "CP",
        "BLB",
        "SR",
        "IMM",
        "TX",
        "VR",
        "URN",
        "CG",
        "GE",
        "HLA",
        "PAT",
        "BG",
        "OSL",
        "SPT",
    }
)
# Imaging reports by code (DOMAIN.md §5 radiology, UK Core's radiology report) and category.
IMAGING_SNOMED = frozenset({"722124004", "399208008", "169069000", "60027007", "39714003", "363679005"})
IMAGING_CATEGORY_CODES = frozenset({"LP29684-5", "394914008", "18748-4"})
# LP7839-6 is LOINC's "Pathology" document category, used by US Core reports.
# LP7839-6 is LOINC's "Pathology" category, which US Core reports use.
LAB_CATEGORY_CODES = frozenset({"394595002", "15220000", "4241000179101", "laboratory", "LP7839-6"})

ENCOUNTER_CLASSES = {
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "AMB": "outpatient",
    "EMER": "emergency",
    "HH": "home-visit",
    "VR": "virtual",
    "OBSENC": "observation",
    "PRENC": "pre-admission",
    "SS": "day-case",
    "FLD": "field",
}


def encounter(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    encounter_class = resource.get("class") if isinstance(resource.get("class"), dict) else {}
    class_code = str(encounter_class.get("code") or "")
    subtype = ENCOUNTER_CLASSES.get(class_code, slug(class_code))
    what = concept_text(resource.get("type")) or concept_text(resource.get("serviceType"))
    where = (
        (resource.get("serviceProvider") or {}).get("display")
        if isinstance(resource.get("serviceProvider"), dict)
        else ""
    )
    reason = concept_text(resource.get("reasonCode"))
    summary = " ".join(
        part
        for part in (
            (subtype.replace("-", " ").capitalize() or "Encounter") + (f": {what}" if what else ""),
            f"at {where}" if where else "",
            f"for {reason}" if reason else "",
        )
        if part
    )
    period = period_of(resource, "period")
    return item(
        resource,
        ctx,
        EntryCategory.ENCOUNTER,
        summary=summary,
        codes=(resource.get("type"),),
        subtype=subtype,
        occurred_at=moment(period.get("start")),
        ended_at=moment(period.get("end"), end=True),
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("reasonCode"),),
    )


def condition(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    status = status_code(resource.get("clinicalStatus"))
    what = concept_text(resource.get("code")) or "Condition"
    onset = period_of(resource, "onsetPeriod")
    return item(
        resource,
        ctx,
        EntryCategory.PROBLEM,
        summary=f"{what} ({status})" if status else what,
        codes=(resource.get("code"),),
        subtype=first_code(resource.get("category")),
        occurred_at=moment(resource.get("onsetDateTime"), onset.get("start"), resource.get("recordedDate")),
        ended_at=moment(resource.get("abatementDateTime"), end=True),
        status=status,
    )


def allergy(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = concept_text(resource.get("code")) or "Allergy"
    reactions = [concept_text(r.get("manifestation")) for r in dicts(resource.get("reaction"))]
    summary = what + (f": {', '.join(r for r in reactions if r)}" if any(reactions) else "")
    if resource.get("criticality") == "high":
        summary += " (high criticality)"
    categories = as_list(resource.get("category"))
    return item(
        resource,
        ctx,
        EntryCategory.ALLERGY,
        summary=summary,
        codes=(resource.get("code"),),
        subtype=str(categories[0]) if categories else str(resource.get("type") or ""),
        occurred_at=moment(resource.get("onsetDateTime"), resource.get("recordedDate")),
        status=status_code(resource.get("clinicalStatus")),
    )


def medication(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    medication = ctx.index.resolve(
        resource.get("medicationReference"), ctx.full_url, resource.get("contained")
    )
    concept = resource.get("medicationCodeableConcept") or (medication or {}).get("code")
    what = concept_text(concept) or str((resource.get("medicationReference") or {}).get("display") or "")
    dosage = next(
        (
            str(d["text"])
            for d in dicts(resource.get("dosage") or resource.get("dosageInstruction"))
            if d.get("text")
        ),
        "",
    )
    if resource["resourceType"] == "MedicationRequest":
        validity = period_of(resource.get("dispenseRequest") or {}, "validityPeriod")
        occurred = moment(resource.get("authoredOn"), validity.get("start"))
        ended = moment(validity.get("end"), end=True)
        subtype = "prescription"
    else:
        effective = period_of(resource, "effectivePeriod")
        occurred = moment(
            resource.get("effectiveDateTime"), effective.get("start"), resource.get("dateAsserted")
        )
        ended = moment(effective.get("end"), end=True)
        subtype = "statement"
    from_body = (
        medication
        if medication
        and not str((resource.get("medicationReference") or {}).get("reference", "")).startswith("#")
        else None
    )
    return item(
        resource,
        ctx,
        EntryCategory.MEDICATION,
        summary=what + (f": {dosage}" if dosage else ""),
        codes=(concept,),
        subtype=subtype,
        occurred_at=occurred,
        ended_at=ended,
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("reasonCode"),),
        medication=from_body,
    )


def _value_text(holder: dict[str, Any]) -> str:
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        comparator = quantity.get("comparator", "")
        unit = quantity.get("unit") or quantity.get("code") or ""
        return f"{comparator}{quantity['value']} {unit}".strip()
    if holder.get("valueCodeableConcept"):
        return concept_text(holder["valueCodeableConcept"])
    for name in ("valueString", "valueInteger", "valueDateTime", "valueTime"):
        if name in holder:
            return str(holder[name])
    if "valueBoolean" in holder:
        return "yes" if holder["valueBoolean"] else "no"
    if isinstance(holder.get("valueRange"), dict):
        low = (holder["valueRange"].get("low") or {}).get("value", "")
        high = (holder["valueRange"].get("high") or {}).get("value", "")
        return f"{low} to {high}"
    return ""


def observation(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = concept_text(resource.get("code")) or "Observation"
    value = _value_text(resource)
    if not value and resource.get("component"):
        value = ", ".join(
            f"{concept_text(c.get('code'))} {_value_text(c)}".strip()
            for c in dicts(resource.get("component"))
        )
    flags = [first_code(i) for i in as_list(resource.get("interpretation"))]
    summary = f"{what}: {value}" if value else what
    if any(flags):
        summary += f" ({', '.join(f for f in flags if f)})"
    category = next(
        (
            str(c["code"])
            for concept in as_list(resource.get("category"))
            for c in codings(concept)
            if c.get("system") == OBSERVATION_CATEGORY
        ),
        slug(concept_text(resource.get("category"))),
    )
    effective = period_of(resource, "effectivePeriod")
    return item(
        resource,
        ctx,
        EntryCategory.LAB_RESULT,
        summary=summary,
        codes=(resource.get("code"),),
        subtype=category,
        occurred_at=moment(
            resource.get("effectiveDateTime"),
            resource.get("effectiveInstant"),
            effective.get("start"),
            resource.get("issued"),
        ),
        ended_at=moment(effective.get("end"), end=True),
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("valueCodeableConcept"),),
    )


def report_category(resource: dict[str, Any]) -> str | Skip:
    categories = as_list(resource.get("category"))
    sections = {
        str(c["code"]).upper() for cat in categories for c in codings(cat) if c.get("system") == V2_0074
    }
    codes = {str(c["code"]) for cat in categories for c in codings(cat)}
    if (
        sections & IMAGING_SECTIONS
        or codes & IMAGING_CATEGORY_CODES
        or has_code(resource.get("code"), SNOMED, IMAGING_SNOMED)
    ):
        return EntryCategory.IMAGING_REPORT
    if sections & LAB_SECTIONS or codes & LAB_CATEGORY_CODES or not categories:
        return EntryCategory.LAB_REPORT
    return Skip(
        f"a report in category {concept_text(categories[0])!r} is neither laboratory nor imaging, "
        "and no other record category holds DiagnosticReports",
        "DiagnosticReport.category",
    )


def report(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    category = report_category(resource)
    if isinstance(category, Skip):
        return category
    what = concept_text(resource.get("code")) or "Report"
    conclusion = str(resource.get("conclusion") or concept_text(resource.get("conclusionCode")))
    effective = period_of(resource, "effectivePeriod")
    sections = [
        str(c["code"]).lower()
        for cat in as_list(resource.get("category"))
        for c in codings(cat)
        if c.get("system") == V2_0074
    ]
    return item(
        resource,
        ctx,
        category,
        summary=what + (f": {conclusion}" if conclusion else ""),
        codes=(resource.get("code"),),
        subtype=sections[0] if sections else "",
        occurred_at=moment(resource.get("effectiveDateTime"), effective.get("start"), resource.get("issued")),
        ended_at=moment(effective.get("end"), end=True),
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("conclusionCode"),),
    )


def appointment(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = (
        resource.get("description")
        or concept_text(resource.get("serviceType"))
        or concept_text(resource.get("appointmentType"))
        or "Appointment"
    )
    places = [
        str(p["actor"].get("display"))
        for p in dicts(resource.get("participant"))
        if isinstance(p.get("actor"), dict) and p["actor"].get("display") and "Location" in str(p["actor"])
    ]
    return item(
        resource,
        ctx,
        EntryCategory.APPOINTMENT,
        summary=what + (f" at {places[0]}" if places else ""),
        codes=(resource.get("serviceType"), resource.get("appointmentType"), resource.get("specialty")),
        subtype=slug(first_code(resource.get("appointmentType"))),
        occurred_at=moment(resource.get("start")),
        ended_at=moment(resource.get("end")),
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("reasonCode"),),
    )


def referral(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = concept_text(resource.get("code")) or "Request"
    performers = [str(p["display"]) for p in dicts(resource.get("performer")) if p.get("display")]
    summary = what + (f" to {performers[0]}" if performers else "")
    if resource.get("priority") and resource["priority"] != "routine":
        summary += f" ({resource['priority']})"
    occurrence = period_of(resource, "occurrencePeriod")
    return item(
        resource,
        ctx,
        EntryCategory.REFERRAL,
        summary=summary,
        codes=(resource.get("code"),),
        subtype=slug(concept_text(resource.get("category"))),
        occurred_at=moment(
            resource.get("authoredOn"), resource.get("occurrenceDateTime"), occurrence.get("start")
        ),
        status=resource.get("status", ""),
        sensitive_concepts=(resource.get("reasonCode"),),
    )


def flag(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = concept_text(resource.get("code")) or "Alert"
    period = period_of(resource, "period")
    draft = item(
        resource,
        ctx,
        EntryCategory.ALERT,
        summary=what,
        codes=(resource.get("code"),),
        subtype=first_code(resource.get("category")) or slug(concept_text(resource.get("category"))),
        occurred_at=moment(period.get("start")),
        ended_at=moment(period.get("end"), end=True),
        status=resource.get("status", ""),
    )
    words = f"{what} {concept_text(resource.get('category'))}".lower()
    if "safeguard" in words and draft.sensitivity == Sensitivity.NORMAL:
        draft.sensitivity = Sensitivity.SAFEGUARDING
    return draft
