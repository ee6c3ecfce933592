"""SIU S12-S15 and S26: the appointment lifecycle (booked, rescheduled, modified, cancelled, no-show)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ingestion.canonical import MappedRecord
from ingestion.fhir.common import slug
from ingestion.hl7v2.context import Context
from ingestion.hl7v2.datatypes import concept, concept_text, concepts, entity_id, identifier, slug_key
from ingestion.hl7v2.reader import Hl7ParseError, Moment, Segment, parse_moment
from records.models import EntryCategory

# What the trigger says; None: booked unless SCH-25 says otherwise.
SIU_EVENTS: dict[str, str | None] = {
    "S12": None,  # new appointment
    "S13": None,  # rescheduled
    "S14": None,  # modified
    "S15": "cancelled",
    "S26": "noshow",
}
# SCH-25 filler status (table 0278) → Appointment.status.
FILLER_STATUS = {
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "BOOKED": "booked",
    "SCHEDULED": "booked",
    "CONFIRMED": "booked",
    "OVERBOOK": "booked",
    "STARTED": "checked-in",
    "ARRIVED": "arrived",
    "COMPLETE": "fulfilled",
    "CANCELLED": "cancelled",
    "DC": "cancelled",
    "DELETED": "entered-in-error",
    "NOSHOW": "noshow",
}
_MINUTES = {
    "S": 1 / 60,
    "SEC": 1 / 60,
    "M": 1,
    "MIN": 1,
    "MINUTES": 1,
    "H": 60,
    "HR": 60,
    "HOURS": 60,
    "D": 1440,
}


def _minutes(amount: str, units: str) -> float | None:
    try:
        value = float(amount)
    except ValueError:
        return None
    factor = _MINUTES.get(units.strip().upper(), 1 if not units else None)
    return value * factor if factor is not None and value > 0 else None


def _resource_start(ctx: Context) -> tuple[Moment | None, float | None]:
    """The earliest start of the service, person, location or equipment booked, with its duration."""
    found: list[tuple[Moment, float | None]] = []
    for name, start, duration, units in (
        ("AIS", 4, 7, 8),
        ("AIP", 6, 9, 10),
        ("AIL", 6, 9, 10),
        ("AIG", 8, 11, 12),
    ):
        for segment in ctx.message.all(name):
            moment = parse_moment(segment.get(start))
            if moment:
                found.append((moment, _minutes(segment.get(duration), segment.get(units, 1))))
    if not found:
        return None, None
    return min(found, key=lambda pair: pair[0].at)


def _times(ctx: Context, sch: Segment) -> tuple[Moment | None, Moment | None, float | None]:
    start, minutes = _resource_start(ctx)
    end: Moment | None = None
    tq1 = ctx.message.first("TQ1")
    if start is None and tq1 is not None:
        start, end = parse_moment(tq1.get(7)), parse_moment(tq1.get(8))
    if start is None:
        start, end = parse_moment(sch.get(11, 4)), parse_moment(sch.get(11, 5))
    if minutes is None:
        minutes = _minutes(sch.get(9), sch.get(10, 1))
    if end is None and start is not None and minutes:
        end = Moment(start.at + timedelta(minutes=minutes), "second")
    return start, end, minutes


def _participants(ctx: Context) -> tuple[list[dict[str, Any]], list[str]]:
    participants: list[dict[str, Any]] = [{"actor": ctx.patient_reference, "status": "accepted"}]
    places: list[str] = []
    for aip in ctx.message.all("AIP"):
        code = aip.get(3, 1)
        name = " ".join(part for part in (aip.get(3, 6), aip.get(3, 3), aip.get(3, 2)) if part)
        if not code and not name:
            continue
        actor: dict[str, Any] = {"type": "Practitioner", "display": name or code}
        if code:
            actor["identifier"] = identifier(ctx.source, code)
        participant: dict[str, Any] = {"actor": actor, "status": "accepted"}
        role = concept(aip, 4)
        if role:
            participant["type"] = [role]
        participants.append(participant)
    for ail in ctx.message.all("AIL"):
        parts = [ail.get(3, n) for n in (1, 2, 3, 4)]
        if not any(parts):
            parts = [ail.get(3, 1, 2)]
        where = " ".join(part for part in parts if part)
        if where:
            places.append(where)
            participants.append({"actor": {"type": "Location", "display": where}, "status": "accepted"})
    for aig in ctx.message.all("AIG"):
        what = aig.get(3, 2) or aig.get(3, 1)
        if what:
            participants.append({"actor": {"type": "Device", "display": what}, "status": "accepted"})
    return participants, places


def map_siu(ctx: Context, trigger: str) -> MappedRecord:
    sch = ctx.message.first("SCH")
    if sch is None:
        raise Hl7ParseError(f"SIU^{trigger} has no SCH segment", "SCH")
    system, value = entity_id(sch, 2)
    kind = "FILL"
    if not value:
        system, value = entity_id(sch, 1)
        kind = "PLAC"
    if not value:
        raise Hl7ParseError("SCH-2 filler and SCH-1 placer appointment ids are both empty", "SCH-2")
    system = system or ctx.source
    key = slug_key("Appointment", system, value)
    filler_status = (sch.get(25, 2) or sch.get(25, 1)).upper().replace(" ", "").replace("-", "")
    status = SIU_EVENTS[trigger] or FILLER_STATUS.get(filler_status, "booked")
    start, end, minutes = _times(ctx, sch)
    participants, places = _participants(ctx)
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": [
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": kind}]
                },
                **identifier(system, value),
            }
        ],
        "status": status,
        "participant": participants,
    }
    services = [found for ais in ctx.message.all("AIS") if (found := concept(ais, 3))]
    if services:
        resource["serviceType"] = services
    appointment_type = concept(sch, 8)
    if appointment_type:
        resource["appointmentType"] = appointment_type
    reasons = concepts(sch, 7)
    if reasons:
        resource["reasonCode"] = reasons
    if status == "cancelled":
        cancel = concept(sch, 6)
        if cancel:
            resource["cancelationReason"] = cancel
    if start:
        resource["start"] = start.at.isoformat(timespec="seconds")
    if end:
        resource["end"] = end.at.isoformat(timespec="seconds")
    if minutes and minutes >= 1:
        resource["minutesDuration"] = int(minutes)
    notes = [
        segment.text(3)
        for segment in ctx.message.segments
        if segment.name == "NTE" and segment.text(3).strip()
    ]
    if notes:
        resource["comment"] = "\n".join(notes)
    what = concept_text(services[0]) if services else concept_text(reasons[0]) if reasons else ""
    what = what or concept_text(appointment_type) or "Appointment"
    summary = what + (f" at {places[0]}" if places else "")
    if status not in ("booked", "pending"):
        summary += f" ({status})"
    item = ctx.item(
        EntryCategory.APPOINTMENT,
        resource,
        key,
        summary=summary,
        codes=(*services, appointment_type),
        subtype=slug(concept_text(appointment_type)),
        occurred_at=start.at if start else None,
        ended_at=end.at if end else None,
        status=status,
        sensitive_concepts=tuple(reasons),
    )
    return MappedRecord(patient=ctx.patient, items=[item], warnings=ctx.warnings)
