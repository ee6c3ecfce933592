"""REF I12-I14: referrals (RF1, PRD, DG1) as ServiceRequests."""

from __future__ import annotations

from typing import Any

from ingestion.canonical import MappedRecord
from ingestion.fhir.common import slug
from ingestion.hl7v2.context import Context
from ingestion.hl7v2.datatypes import concept, concept_text, entity_id, identifier, slug_key, table_concept
from ingestion.hl7v2.reader import Hl7ParseError, Segment, parse_moment
from records.models import EntryCategory

REF_EVENTS = frozenset({"I12", "I13", "I14"})
# RF1-1 referral status (table 0283) → ServiceRequest.status.
REFERRAL_STATUS = {"A": "active", "P": "active", "R": "revoked", "E": "completed"}
# RF1-2 priority (table 0280) → ServiceRequest.priority.
PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "U": "urgent"}
# RF1-3 referral type (table 0281), in words.
REFERRAL_TYPES = {
    "HOM": "Home care referral",
    "LAB": "Laboratory referral",
    "MED": "Medical referral",
    "PSY": "Psychiatric referral",
    "RAD": "Radiology referral",
    "SKN": "Skilled nursing referral",
}


def _provider(prd: Segment) -> dict[str, Any] | None:
    name = " ".join(part for part in (prd.get(2, 5), prd.get(2, 2), prd.get(2, 1, 1)) if part)
    facility = prd.get(4, 10) or prd.get(4, 4) or prd.get(10)
    if not name and not facility:
        return None
    display = f"{name}, {facility}" if name and facility else name or facility
    reference: dict[str, Any] = {"type": "Practitioner" if name else "Organization", "display": display}
    provider_id = prd.get(7, 1)
    if provider_id:
        reference["identifier"] = {"value": provider_id}
    return reference


def map_ref(ctx: Context, trigger: str) -> MappedRecord:
    rf1 = ctx.message.first("RF1")
    if rf1 is None:
        raise Hl7ParseError(f"REF^{trigger} has no RF1 segment", "RF1")
    system, value = entity_id(rf1, 6)
    if not value:
        system, value = entity_id(rf1, 11)
    if not value:
        raise Hl7ParseError(
            "RF1-6 originating and RF1-11 external referral identifiers are both empty", "RF1-6"
        )
    system = system or ctx.source
    key = slug_key("ServiceRequest", system, value)
    status = "revoked" if trigger == "I14" else REFERRAL_STATUS.get(rf1.get(1, 1).upper(), "active")
    referral_type = rf1.get(3, 1)
    code = concept(rf1, 3) if rf1.get(3, 3) else None
    if code is None and referral_type:
        words = REFERRAL_TYPES.get(referral_type.upper(), rf1.get(3, 2) or referral_type)
        code = table_concept(referral_type, "0281", words)
    code = code or {"text": "Referral"}
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [identifier(system, value)],
        "status": status,
        "intent": "order",
        "code": code,
        "subject": ctx.patient_reference,
    }
    external_system, external = entity_id(rf1, 11)
    if external and external != value:
        resource["identifier"].append(identifier(external_system or ctx.source, external))
    category = rf1.get(5, 1)
    if category:
        resource["category"] = [table_concept(category, "0284", rf1.get(5, 2))]
    priority = PRIORITY.get(rf1.get(2, 1).upper())
    if priority:
        resource["priority"] = priority
    authored = parse_moment(rf1.get(7)) or parse_moment(rf1.get(9))
    if authored:
        resource["authoredOn"] = authored.fhir
    expires = parse_moment(rf1.get(8))
    if authored and expires:
        resource["occurrencePeriod"] = {"start": authored.fhir, "end": expires.fhir}
    reasons = [found for found in (concept(rf1, 10),) if found]
    reasons += [found for dg1 in ctx.message.all("DG1") if (found := concept(dg1, 3))]
    if reasons:
        resource["reasonCode"] = reasons
    performers, requester = [], None
    for prd in ctx.message.all("PRD"):
        role = prd.get(1, 1).upper()
        who = _provider(prd)
        if who is None:
            continue
        if role == "RP" and requester is None:
            requester = who
        elif role in ("RT", "CP", "PP"):
            performers.append(who)
    if requester:
        resource["requester"] = requester
    if performers:
        resource["performer"] = performers
    notes = [
        segment.text(3)
        for segment in ctx.message.segments
        if segment.name == "NTE" and segment.text(3).strip()
    ]
    if notes:
        resource["note"] = [{"text": note} for note in notes]
    what = concept_text(code)
    summary = what + (f" to {performers[0]['display']}" if performers else "")
    if priority and priority != "routine":
        summary += f" ({priority})"
    if status == "revoked":
        summary += " (cancelled)"
    item = ctx.item(
        EntryCategory.REFERRAL,
        resource,
        key,
        summary=summary,
        codes=(code,),
        subtype=slug(concept_text(resource["category"][0])) if category else "",
        occurred_at=authored.at if authored else None,
        ended_at=expires.at if expires else None,
        status=status,
        sensitive_concepts=tuple(reasons),
    )
    return MappedRecord(patient=ctx.patient, items=[item], warnings=ctx.warnings)
