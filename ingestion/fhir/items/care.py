"""Care and support plans, related people (next of kin, carers) and documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from ingestion.canonical import ItemDraft
from ingestion.csv.spec import PACKAGE_TYPE_SYSTEM, PACKAGE_TYPES, package_type_slug
from ingestion.fhir.common import (
    SNOMED,
    as_list,
    codings,
    concept_text,
    dicts,
    first_name,
    parse_date,
    slug,
)
from ingestion.fhir.items.base import Skip, item, moment, period_of
from ingestion.fhir.rewrite import MapContext
from records.models import EntryCategory


def care_plan_review(resource: dict[str, Any]) -> date | None:
    """Planned review: a review-date extension, else a scheduled review activity, else the period end."""
    for extension in dicts(resource.get("extension")):
        if "review" in str(extension.get("url", "")).lower():
            found = parse_date(extension.get("valueDate") or extension.get("valueDateTime"))
            if found:
                return found
    for activity in dicts(resource.get("activity")):
        detail = activity.get("detail") if isinstance(activity.get("detail"), dict) else {}
        text = f"{detail.get('description', '')} {concept_text(detail.get('code'))}".lower()
        if "review" in text and detail.get("status") in ("not-started", "scheduled", None):
            scheduled = period_of(detail, "scheduledPeriod")
            found = parse_date(scheduled.get("start") or detail.get("scheduledString"))
            if found:
                return found
    return parse_date(period_of(resource, "period").get("end"))


def care_plan_package(resource: dict[str, Any]) -> str:
    for concept in as_list(resource.get("category")):
        for coding in codings(concept):
            if coding.get("system") == PACKAGE_TYPE_SYSTEM and coding["code"] in PACKAGE_TYPES:
                return str(coding["code"])
        found = package_type_slug(concept_text(concept))
        if found:
            return found
    # Otherwise the kind of plan in words, preferring a SNOMED CT category to a local one.
    categories = as_list(resource.get("category"))
    snomed = [c for c in categories if any(x.get("system") == SNOMED for x in codings(c))]
    return slug(concept_text(snomed or categories))


def care_plan(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    what = resource.get("title") or resource.get("description") or concept_text(resource.get("category"))
    period = period_of(resource, "period")
    return item(
        resource,
        ctx,
        EntryCategory.CARE_PLAN,
        summary=str(what or "Care plan"),
        codes=tuple(as_list(resource.get("category"))),
        subtype=care_plan_package(resource),
        occurred_at=moment(period.get("start"), resource.get("created")),
        ended_at=moment(period.get("end"), end=True),
        status=resource.get("status", ""),
        review_due_on=care_plan_review(resource),
        sensitive_concepts=tuple(as_list(resource.get("addresses"))),
    )


def related_person_role(resource: dict[str, Any]) -> str:
    found = [
        (str(c.get("code", "")), str(c.get("display", "")).lower())
        for concept in as_list(resource.get("relationship"))
        for c in codings(concept)
    ]
    texts = " ".join(f"{code.lower()} {display}" for code, display in found)
    texts += " " + concept_text(resource.get("relationship")).lower()
    codes = {code for code, _ in found}
    if "carer" in texts or "caregiver" in texts or codes & {"CAREGIVER", "CGV"}:
        return "carer"
    if "next of kin" in texts or "next-of-kin" in texts or codes & {"N", "NOK", "NextOfKin"}:
        return "next-of-kin"
    if "guardian" in texts or codes & {"GUARD", "Guardian"}:
        return "guardian"
    if "emergency" in texts or codes & {"C", "ECON"}:
        return "emergency-contact"
    if codes & {
        "FAMMEMB",
        "CHILD",
        "SON",
        "DAU",
        "PRN",
        "MTH",
        "FTH",
        "SPS",
        "WIFE",
        "HUSB",
        "SIB",
        "SIS",
        "BRO",
        "GRPRN",
        "GRNDCHILD",
        "DOMPART",
    }:
        return "family"
    return "other" if found or texts.strip() else ""


def related_person(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    name = first_name(resource) or "Related person"
    relationship = concept_text(resource.get("relationship"))
    phones = [
        str(t["value"])
        for t in dicts(resource.get("telecom"))
        if t.get("system") == "phone" and t.get("value")
    ]
    summary = name + (f" ({relationship})" if relationship else "") + (f", {phones[0]}" if phones else "")
    period = period_of(resource, "period")
    return item(
        resource,
        ctx,
        EntryCategory.RELATED_PERSON,
        summary=summary,
        codes=tuple(as_list(resource.get("relationship"))),
        subtype=related_person_role(resource),
        occurred_at=moment(period.get("start")),
        ended_at=moment(period.get("end"), end=True),
        status="active" if resource.get("active", True) else "inactive",
    )


_DOCUMENT_KINDS = (
    ("discharge", "discharge-letter"),
    ("clinic letter", "clinic-letter"),
    ("outpatient", "clinic-letter"),
    ("referral", "referral-letter"),
    ("care plan", "care-plan"),
    ("progress note", "clinical-note"),
    ("clinical note", "clinical-note"),
    ("electrocardio", "ecg-report"),
    ("report", "report"),
    ("letter", "letter"),
)


def document_kind(resource: dict[str, Any]) -> str:
    text = " ".join(
        [
            concept_text(resource.get("type")),
            *(str(c.get("display", "")) for c in codings(resource.get("type"))),
        ]
    ).lower()
    for needle, kind in _DOCUMENT_KINDS:
        if needle in text:
            return kind
    return slug(concept_text(resource.get("type")))


def document(resource: dict[str, Any], ctx: MapContext) -> ItemDraft | Skip:
    attachments = [
        c["attachment"] for c in dicts(resource.get("content")) if isinstance(c.get("attachment"), dict)
    ]
    title = next((str(a["title"]) for a in attachments if a.get("title")), "")
    what = resource.get("description") or title or concept_text(resource.get("type")) or "Document"
    context = resource.get("context") if isinstance(resource.get("context"), dict) else {}
    period = period_of(context, "period")
    return item(
        resource,
        ctx,
        EntryCategory.DOCUMENT,
        summary=str(what),
        codes=(resource.get("type"),),
        subtype=document_kind(resource),
        occurred_at=moment(
            period.get("start"), resource.get("date"), *(a.get("creation") for a in attachments)
        ),
        ended_at=moment(period.get("end"), end=True),
        status=resource.get("docStatus") or resource.get("status", ""),
        sensitive_concepts=tuple(as_list(context.get("event"))),
    )
