"""ADT: the person (PID, PD1), next of kin (NK1), the encounter (PV1) and merges (MRG)."""

from __future__ import annotations

from typing import Any

from ingestion.canonical import ItemDraft, LocalId, MappedRecord, MergeDraft, PatientIdentity
from ingestion.fhir.items.clinical import ENCOUNTER_CLASSES
from ingestion.hl7v2.context import Context
from ingestion.hl7v2.datatypes import (
    authority,
    concept,
    concept_text,
    identifier,
    practitioner_reference,
    slug_key,
    table_concept,
)
from ingestion.hl7v2.patient import identifiers_of, related_people
from ingestion.hl7v2.reader import Hl7ParseError, Segment, parse_moment
from records.models import EntryCategory

V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# PV1-2 patient class (table 0004) → Encounter.class (v3 ActCode).
PATIENT_CLASSES = {
    "E": ("EMER", "emergency"),
    "I": ("IMP", "inpatient encounter"),
    "O": ("AMB", "ambulatory"),
    "P": ("PRENC", "pre-admission"),
    "R": ("AMB", "ambulatory"),
    "B": ("IMP", "inpatient encounter"),
    "C": ("AMB", "ambulatory"),
    "N": ("AMB", "ambulatory"),
    "U": ("AMB", "ambulatory"),
}
# What each trigger says about the encounter's status; None: from PV1 (discharge date ⇒ finished).
ENCOUNTER_EVENTS = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "arrived",
    "A05": "planned",
    "A08": None,
    "A13": "in-progress",
}
PERSON_EVENTS = frozenset({"A28", "A31"})
CANCEL_EVENTS = frozenset({"A11"})
MERGE_EVENTS = frozenset({"A34", "A39", "A40"})
ADT_EVENTS = frozenset(ENCOUNTER_EVENTS) | PERSON_EVENTS | CANCEL_EVENTS | MERGE_EVENTS


def visit_number(ctx: Context, pv1: Segment) -> tuple[str, str] | None:
    """PV1-19 visit number (system, value), else PV1-50 alternate visit id; None if neither."""
    for index in (19, 50):
        value = pv1.get(index, 1)
        if value:
            return authority(pv1, index) or authority(pv1, index, component=6) or ctx.source, value
    return None


def encounter_key(ctx: Context, pv1: Segment) -> str | None:
    found = visit_number(ctx, pv1)
    return slug_key("Encounter", *found) if found else None


def _location(pv1: Segment, index: int) -> str:
    parts = [pv1.get(index, n) for n in (1, 2, 3)]
    facility = pv1.get(index, 4, 1)
    text = " ".join(part for part in parts if part)
    return f"{text}, {facility}" if text and facility else text or facility


def encounter(ctx: Context, pv1: Segment, trigger: str) -> ItemDraft | None:
    visit = visit_number(ctx, pv1)
    if visit is None:
        ctx.warnings.append("PV1-19 visit number is empty: the encounter is not recorded")
        return None
    key = slug_key("Encounter", *visit)
    admitted, discharged = parse_moment(pv1.get(44)), parse_moment(pv1.get(45))
    status = ENCOUNTER_EVENTS.get(trigger)
    if status is None:
        status = "finished" if discharged else "in-progress" if admitted else "arrived"
    if trigger == "A13":
        discharged = None  # the discharge is cancelled: the stay is open again
    elif (admitted is None and trigger in ("A01", "A04")) or (discharged is None and trigger == "A03"):
        # The event is the admission (or discharge): when PV1 leaves its date out, EVN gives it.
        evn = ctx.message.first("EVN")
        happened = (parse_moment(evn.get(6)) or parse_moment(evn.get(2))) if evn else None
        if trigger == "A03":
            discharged = happened
        else:
            admitted = happened
    patient_class = pv1.get(2).upper()
    class_code, class_display = PATIENT_CLASSES.get(patient_class, ("AMB", "ambulatory"))
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "identifier": [identifier(*visit, "VN")],
        "status": status,
        "class": {"system": V3_ACT, "code": class_code, "display": class_display},
        "subject": ctx.patient_reference,
    }
    service = concept(pv1, 10)
    if service:
        resource["serviceType"] = service
    period: dict[str, str] = {}
    if admitted:
        period["start"] = admitted.fhir
    if discharged and status == "finished":
        period["end"] = discharged.fhir
    if period:
        resource["period"] = period
    participants = []
    for index, role in ((7, "ATND"), (17, "ADM"), (8, "REF"), (9, "CON")):
        for rep in range(len(pv1.repetitions(index))):
            who = practitioner_reference(pv1, index, rep)
            if who:
                participants.append(
                    {
                        "type": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                        "code": role,
                                    }
                                ]
                            }
                        ],
                        "individual": who,
                    }
                )
    if participants:
        resource["participant"] = participants
    locations = []
    where = _location(pv1, 3)
    if where:
        locations.append(
            {"location": {"display": where}, "status": "active" if status != "finished" else "completed"}
        )
    prior = _location(pv1, 6)
    if prior and trigger == "A02":
        locations.append({"location": {"display": prior}, "status": "completed"})
    if locations:
        resource["location"] = locations
    hospitalization: dict[str, Any] = {}
    admit_source = pv1.get(14)
    if admit_source:
        hospitalization["admitSource"] = table_concept(admit_source, "0023")
    disposition = pv1.get(36)
    if disposition and status == "finished":
        hospitalization["dischargeDisposition"] = table_concept(disposition, "0112", pv1.get(36, 2))
    if hospitalization:
        resource["hospitalization"] = hospitalization
    facility = ctx.header.sending_facility
    if facility:
        resource["serviceProvider"] = {"display": facility}
    subtype = ENCOUNTER_CLASSES.get(class_code, "")
    what = concept_text(service)
    outcome = ""
    if status == "finished" and disposition:
        outcome = f", discharged ({pv1.get(36, 2) or disposition})"
    summary = (
        (subtype.replace("-", " ").capitalize() or "Encounter")
        + (f": {what}" if what else "")
        + (f" at {where}" if where else "")
        + (f" ({status})" if status not in ("in-progress", "finished") else "")
        + outcome
    )
    return ctx.item(
        EntryCategory.ENCOUNTER,
        resource,
        key,
        summary=summary,
        codes=(service,),
        subtype=subtype,
        occurred_at=admitted.at if admitted else None,
        ended_at=discharged.at if discharged and status == "finished" else None,
        status=status,
    )


def _retired_identity(ctx: Context, mrg: Segment) -> PatientIdentity:
    identity = PatientIdentity()
    for index in (1, 4):  # MRG-1 prior patient identifier list; MRG-4 prior patient id (deprecated)
        found, nhs = identifiers_of(mrg, index, ctx.source)
        if nhs and not identity.nhs_number:
            identity.nhs_number = nhs
        for system, value, type_code in found:
            local = LocalId(system, value, type_code)
            if local not in identity.local_ids:
                identity.local_ids.append(local)
    return identity


def map_adt(ctx: Context, trigger: str) -> MappedRecord:
    record = MappedRecord(patient=ctx.patient, warnings=ctx.warnings)
    if trigger in MERGE_EVENTS:
        merges = ctx.message.all("MRG")
        if not merges:
            raise Hl7ParseError(f"ADT^{trigger} has no MRG segment naming the record merged away", "MRG")
        retired = _retired_identity(ctx, merges[0])
        if retired.is_empty:
            raise Hl7ParseError("MRG-1 names no prior patient identifier", "MRG-1")
        if len(merges) > 1:
            ctx.warnings.append(f"{len(merges)} MRG segments: only the first merge is applied")
        record.merge = MergeDraft(surviving=ctx.identity, retired=retired)
        return record
    if trigger in PERSON_EVENTS:
        record.items = related_people(
            ctx.message, ctx.identity, ctx.patient_reference, ctx.updated_at, ctx.source
        )
        return record
    pv1 = ctx.message.first("PV1")
    if trigger in CANCEL_EVENTS:
        key = encounter_key(ctx, pv1) if pv1 else None
        if key is None:
            raise Hl7ParseError("ADT^A11 names no visit to cancel (PV1-19 is empty)", "PV1-19")
        record.cancelled_keys.append(key)
        return record
    record.items = related_people(
        ctx.message, ctx.identity, ctx.patient_reference, ctx.updated_at, ctx.source
    )
    if pv1 is None:
        ctx.warnings.append(f"ADT^{trigger} has no PV1 segment: no encounter is recorded")
    else:
        found = encounter(ctx, pv1, trigger)
        if found is not None:
            record.items.append(found)
    return record
