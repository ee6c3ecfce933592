"""map_message: one HL7 v2 message → one MappedRecord, or a reason it cannot be taken."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from ingestion.canonical import MappedRecord
from ingestion.hl7v2.adt import ADT_EVENTS, MERGE_EVENTS, map_adt
from ingestion.hl7v2.context import Context
from ingestion.hl7v2.documents import MDM_EVENTS, map_mdm
from ingestion.hl7v2.header import header_of
from ingestion.hl7v2.oru import map_oru
from ingestion.hl7v2.patient import patient_display, patient_draft, patient_identity, patient_reference
from ingestion.hl7v2.reader import Hl7ParseError, UnsupportedMessage, parse
from ingestion.hl7v2.referrals import REF_EVENTS, map_ref
from ingestion.hl7v2.scheduling import SIU_EVENTS, map_siu

# The versions whose field positions the mappers follow. Later versions (2.6 to 2.8) only add fields
# and withdraw some; what is read here kept its place, so they are read too, with a warning.
TESTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
_VERSION = re.compile(r"2\.(\d)(?:\.(\d))?")


def _mapper(message_type: str, trigger: str) -> Callable[[Context], MappedRecord]:
    if message_type == "ADT" and trigger in ADT_EVENTS:
        return lambda ctx: map_adt(ctx, trigger)
    if message_type == "ORU" and trigger == "R01":
        return map_oru
    if message_type == "SIU" and trigger in SIU_EVENTS:
        return lambda ctx: map_siu(ctx, trigger)
    if message_type == "MDM" and trigger in MDM_EVENTS:
        return lambda ctx: map_mdm(ctx, trigger)
    if message_type == "REF" and trigger in REF_EVENTS:
        return lambda ctx: map_ref(ctx, trigger)
    kind = f"{message_type}^{trigger}" if trigger else message_type
    events = {"ADT": ADT_EVENTS, "ORU": {"R01"}, "SIU": SIU_EVENTS, "MDM": MDM_EVENTS, "REF": REF_EVENTS}
    if message_type in events:
        taken = ", ".join(sorted(events[message_type]))
        raise UnsupportedMessage(
            f"{kind} is not an event the record takes ({message_type}: {taken})", "MSH-9"
        )
    raise UnsupportedMessage(
        f"{kind} is not a message type the record takes (ADT, ORU^R01, SIU, MDM and REF are)", "MSH-9"
    )


def _check_version(version: str, warnings: list[str]) -> None:
    match = _VERSION.fullmatch(version)
    if not version:
        raise Hl7ParseError("MSH-12 version is empty", "MSH-12")
    if not match:
        raise UnsupportedMessage(f"version {version!r} is not HL7 v2.3 to 2.5.1", "MSH-12")
    minor = int(match[1])
    if minor < 3:
        raise UnsupportedMessage(
            f"version {version} is older than 2.3, the oldest this record reads", "MSH-12"
        )
    if version not in TESTED_VERSIONS:
        warnings.append(f"version {version} is read with the field positions of 2.5.1")


def map_message(raw: bytes, *, received_at: datetime | None = None) -> MappedRecord:
    """Map one message. Raises Hl7ParseError (unreadable) or UnsupportedMessage (not for the record).

    The version time of everything mapped is MSH-7 (naive times are UK time), else `received_at`.
    """
    message = parse(raw)
    header = header_of(message.msh)
    warnings: list[str] = []
    _check_version(header.version, warnings)
    mapper = _mapper(header.message_type, header.trigger_event)
    updated_at = header.message_datetime or received_at or datetime.now(UTC)
    ctx = Context(
        message=message,
        header=header,
        updated_at=updated_at,
        source=header.sending_facility or header.sending_application,
        warnings=warnings,
    )
    pids = message.all("PID")
    if not pids:
        raise Hl7ParseError(f"{header.kind} has no PID segment: no patient is named", "PID")
    if len(pids) > 1:
        what = "merge" if header.trigger_event in MERGE_EVENTS else "patient"
        raise Hl7ParseError(f"{header.kind} names {len(pids)} patients; send one {what} per message", "PID")
    ctx.pid = pids[0]
    ctx.identity, identity_warnings = patient_identity(ctx.pid, ctx.source)
    warnings += identity_warnings
    if ctx.identity.is_empty:
        warnings.append("PID-3 names no patient identifier: the message can only be held for review")
    ctx.patient, patient_warnings = patient_draft(message, ctx.pid, ctx.identity, updated_at)
    warnings += patient_warnings
    ctx.patient_reference = patient_reference(ctx.identity, patient_display(ctx.pid))
    record = mapper(ctx)
    record.warnings = warnings
    return record
