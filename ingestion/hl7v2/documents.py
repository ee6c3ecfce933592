"""MDM: documents such as discharge letters (TXA), their text lines and base64 attachments (OBX)."""

from __future__ import annotations

from typing import Any

from ingestion.canonical import MappedRecord
from ingestion.fhir.common import V3_CONFIDENTIALITY
from ingestion.fhir.items.care import document_kind
from ingestion.hl7v2.context import Context
from ingestion.hl7v2.datatypes import (
    concept,
    concept_text,
    entity_id,
    identifier,
    practitioner_reference,
    slug_key,
)
from ingestion.hl7v2.reader import Hl7ParseError, Segment, parse_moment
from ingestion.hl7v2.results import TEXT_TYPES, attachment, text_attachment
from records.models import EntryCategory

# Triggers with content, and T11 (cancel). T06 (addendum) and T10 (replacement) are read alike.
CONTENT_EVENTS = frozenset({"T02", "T04", "T06", "T08", "T10"})
CANCEL_EVENTS = frozenset({"T11"})
MDM_EVENTS = CONTENT_EVENTS | CANCEL_EVENTS
V2_0270 = "http://terminology.hl7.org/CodeSystem/v2-0270"
# Table 0270 document types, in words that ingestion.fhir's document_kind recognises.
DOCUMENT_TYPES = {
    "AR": "Autopsy report",
    "CD": "Cardiodiagnostics",
    "CN": "Consultation",
    "DI": "Diagnostic imaging report",
    "DS": "Discharge summary",
    "ED": "Emergency department report",
    "HP": "History and physical examination",
    "OP": "Operative report",
    "PC": "Psychiatric consultation",
    "PH": "Psychiatric history and physical examination",
    "PN": "Procedure note",
    "PR": "Progress note",
    "SP": "Surgical pathology",
    "TS": "Transfer summary",
    "CL": "Clinic letter",
    "RL": "Referral letter",
}
# TXA-17 completion status (table 0271) → DocumentReference.docStatus.
COMPLETION = {
    "AU": "final",
    "LA": "final",
    "DI": "preliminary",
    "DO": "preliminary",
    "IN": "preliminary",
    "IP": "preliminary",
    "PA": "preliminary",
}
# TXA-19 availability (table 0273) → DocumentReference.status.
AVAILABILITY = {"AV": "current", "UN": "current", "CA": "entered-in-error", "OB": "superseded"}


def _document_id(ctx: Context, txa: Segment, index: int) -> tuple[str, str]:
    system, value = entity_id(txa, index)
    return (system or ctx.source, value) if value else ("", "")


def _type(txa: Segment) -> dict[str, Any]:
    code = txa.get(2, 1).upper()
    if code in DOCUMENT_TYPES and not txa.get(2, 3):
        display = txa.get(2, 2) or DOCUMENT_TYPES[code]
        return {"coding": [{"system": V2_0270, "code": code, "display": display}], "text": display}
    return concept(txa, 2) or {"text": "Document"}


def _content(ctx: Context) -> list[dict[str, Any]]:
    lines: list[str] = []
    attachments: list[dict[str, Any]] = []
    for obx in ctx.message.all("OBX"):
        kind = obx.get(2).upper()
        if kind in ("ED", "RP"):
            found = attachment(obx, ctx.warnings)
            if found:
                attachments.append(found)
        elif kind in TEXT_TYPES or (kind == "" and obx[5]):
            lines.extend(obx.text(5, rep) for rep in range(len(obx.repetitions(5))) or [0])
        elif obx[5]:
            ctx.warnings.append(
                f"OBX {obx.get(1) or '?'} of value type {kind!r} is not document content; ignored"
            )
    text = "\n".join(lines).strip()
    found_content = [text_attachment(text)] if text else []
    return [*found_content, *attachments]


def map_mdm(ctx: Context, trigger: str) -> MappedRecord:
    txa = ctx.message.first("TXA")
    if txa is None:
        raise Hl7ParseError(f"MDM^{trigger} has no TXA segment", "TXA")
    system, value = _document_id(ctx, txa, 12)
    parent_system, parent = _document_id(ctx, txa, 13)
    if not value and not parent:
        raise Hl7ParseError("TXA-12 unique document number is empty", "TXA-12")
    own_key = slug_key("DocumentReference", system, value) if value else None
    parent_key = slug_key("DocumentReference", parent_system, parent) if parent else None
    record = MappedRecord(patient=ctx.patient, warnings=ctx.warnings)
    if trigger in CANCEL_EVENTS:
        record.cancelled_keys = [key for key in (own_key, parent_key) if key]
        return record
    # An edit or replacement (T08, T10) takes the original's place: one entry per document, newest.
    replaces = trigger in ("T08", "T10") and parent_key is not None and parent_key != own_key
    key = parent_key if replaces or own_key is None else own_key
    assert key is not None
    document_type = _type(txa)
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "masterIdentifier": identifier(system, value) if value else identifier(parent_system, parent),
        "status": AVAILABILITY.get(txa.get(19).upper(), "current"),
        "type": document_type,
        "subject": ctx.patient_reference,
    }
    completion = COMPLETION.get(txa.get(17).upper())
    if completion:
        resource["docStatus"] = "amended" if completion == "final" and replaces else completion
    activity = parse_moment(txa.get(4)) or parse_moment(txa.get(6))
    if activity and activity.precision in ("minute", "second"):
        resource["date"] = activity.at.isoformat(timespec="seconds")
    authors = [
        who
        for rep in range(len(txa.repetitions(9)))
        if (who := practitioner_reference(txa, 9, rep)) is not None
    ]
    if not authors and txa.get(5, 1):
        authors = [who for who in (practitioner_reference(txa, 5),) if who]
    if authors:
        resource["author"] = authors
    authenticator = practitioner_reference(txa, 10)
    if authenticator:
        resource["authenticator"] = authenticator
    confidentiality = txa.get(18).upper()
    if confidentiality in ("V", "R"):
        resource["securityLabel"] = [{"coding": [{"system": V3_CONFIDENTIALITY, "code": confidentiality}]}]
    if trigger in ("T06", "T08", "T10") and parent and parent != value:
        code = "appends" if trigger == "T06" else "replaces"
        resource["relatesTo"] = [
            {
                "code": code,
                "target": {"type": "DocumentReference", "identifier": identifier(parent_system, parent)},
            }
        ]
    content = _content(ctx)
    title = concept_text(document_type)
    if not content:
        ctx.warnings.append(f"MDM^{trigger} carries no document content (no text or ED OBX)")
        content = [{"contentType": "text/plain", "title": title}]
    for found in content:
        found.setdefault("title", title)
    resource["content"] = [{"attachment": found} for found in content]
    if activity:
        resource["context"] = {"period": {"start": activity.fhir}}
    author_names = [who["display"] for who in authors if who.get("display")]
    summary = title + (f" by {author_names[0]}" if author_names else "")
    if resource.get("docStatus") == "preliminary":
        summary += " (preliminary)"
    item = ctx.item(
        EntryCategory.DOCUMENT,
        resource,
        key,
        summary=summary,
        codes=(document_type,),
        subtype=document_kind(resource),
        occurred_at=activity.at if activity else None,
        status=resource.get("docStatus") or resource["status"],
    )
    record.items = [item]
    return record
