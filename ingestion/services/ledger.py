"""Receiving: every message is stored, raw and committed, before anything else is done with it."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from ingestion.models import InboundMessage
from records.models import SourceSystem

logger = logging.getLogger(__name__)

# HL7 senders are looked up on every message: keep them in memory for a few seconds.
_SOURCE_CACHE_SECONDS = 5.0
# last_message_at is a feed-health reading, not an audit: one write a second per source is plenty.
_LAST_SEEN_WRITE_SECONDS = 1.0


class _SourceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = 0.0
        self._by_sender: dict[tuple[str, str], SourceSystem] = {}
        self._last_seen: dict[int, float] = {}

    def by_sender(self, application: str, facility: str) -> SourceSystem | None:
        with self._lock:
            if time.monotonic() - self._loaded > _SOURCE_CACHE_SECONDS:
                self._by_sender = {
                    (s.hl7_sending_application, s.hl7_sending_facility): s
                    for s in SourceSystem.objects.exclude(hl7_sending_application="").select_related(
                        "organisation"
                    )
                }
                self._loaded = time.monotonic()
            # A source registered without a facility takes every facility of its application.
            return self._by_sender.get((application, facility)) or self._by_sender.get((application, ""))

    def clear(self) -> None:
        with self._lock:
            self._loaded = 0.0
            self._last_seen.clear()

    def seen(self, source: SourceSystem, at: datetime) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_seen.get(source.pk, 0.0) < _LAST_SEEN_WRITE_SECONDS:
                return
            self._last_seen[source.pk] = now
        SourceSystem.objects.filter(pk=source.pk).update(last_message_at=at)


sources = _SourceCache()


def source_for_sender(application: str, facility: str) -> SourceSystem | None:
    """The HL7 v2 source system registered for MSH-3 (sending application) and MSH-4 (facility)."""
    return sources.by_sender(application, facility)


def body_control_id(payload: bytes) -> str:
    """Files and bundles have no control id of their own: the same bytes sent twice are the same message."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def _enqueue(message_id: int) -> None:
    from ingestion import tasks

    try:
        tasks.message_process_task.delay(message_id)
    except Exception:
        # The message is stored; the periodic sweep picks it up if the broker is unreachable now.
        logger.exception("could not enqueue inbound message %s; the sweep will process it", message_id)


def message_receive(
    *,
    channel: str,
    payload: bytes,
    format: str,
    source_system: SourceSystem | None = None,
    peer: str = "",
    filename: str = "",
    control_id: str | None = None,
    message_type: str = "",
    status: str = InboundMessage.Status.RECEIVED,
    error: str = "",
    error_location: str = "",
    enqueue: bool = True,
) -> InboundMessage:
    """Store what a source sent, committed before returning; then queue it for processing.

    The control id is MSH-10 for HL7 v2 and a hash of the bytes otherwise. A control id already received
    from the same source makes this a duplicate: stored, pointing at the first, and never processed.
    """
    payload = bytes(payload)
    if control_id is None:
        control_id = "" if format == InboundMessage.Format.HL7V2 else body_control_id(payload)
    received_at = timezone.now()
    message = InboundMessage(
        source_system=source_system,
        channel=channel,
        format=format,
        payload=payload,
        control_id=control_id[:200],
        message_type=message_type[:40],
        peer=peer[:200],
        filename=filename[:255],
        received_at=received_at,
        status=status,
        error=error,
        error_location=error_location[:200],
    )
    if status == InboundMessage.Status.FAILED:
        message.processed_at = received_at
    _refuse_inside_a_transaction()
    if not _insert_unless_duplicate(message):
        # A concurrent or earlier message holds the control id: this one is a duplicate of it.
        first = (
            InboundMessage.objects.filter(
                source_system=source_system, control_id=message.control_id, duplicate_of__isnull=True
            )
            .exclude(status=InboundMessage.Status.DISCARDED)
            .order_by("id")
            .first()
        )
        if first is None:  # it was discarded meanwhile: take this one
            return message_receive(
                channel=channel,
                payload=payload,
                format=format,
                source_system=source_system,
                peer=peer,
                filename=filename,
                control_id=control_id,
                message_type=message_type,
                status=status,
                error=error,
                error_location=error_location,
                enqueue=enqueue,
            )
        message.status = InboundMessage.Status.DUPLICATE
        message.duplicate_of = first
        message.processed_at = received_at
        message.outcome = {"duplicate_of": first.pk, "first_status": first.status}
        message.save(force_insert=True)
    if enqueue and message.status == InboundMessage.Status.RECEIVED:
        transaction.on_commit(lambda: _enqueue(message.pk))
    if source_system is not None:
        sources.seen(source_system, received_at)
    return message


def _refuse_inside_a_transaction() -> None:
    """The sender is answered once this returns, so the row must be committed by then: refuse to run inside
    someone else's transaction (tests' own wrapping transactions excepted)."""
    blocks = connection.atomic_blocks
    if blocks and not all(getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError("message_receive must not run inside a transaction: it commits the message itself")


_COLUMNS = (
    "source_system_id",
    "channel",
    "format",
    "payload",
    "control_id",
    "message_type",
    "peer",
    "filename",
    "received_at",
    "status",
    "attempts",
    "error",
    "error_location",
    "outcome",
    "processed_at",
    "resolution",
)
# One statement, committed on its own (autocommit): the ACK waits for one round trip, not three. The
# conflict target is the partial unique index inbound_message_unique_control_id.
_LARGE_PAYLOAD = 1 << 20
_INSERT_SQL = (
    f"INSERT INTO ingestion_inboundmessage ({', '.join(_COLUMNS)}) "  # noqa: S608 - module constants only
    f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
    "ON CONFLICT (source_system_id, control_id) "
    "WHERE control_id <> '' AND duplicate_of_id IS NULL AND status <> 'discarded' DO NOTHING RETURNING id"
)


def _insert_unless_duplicate(message: InboundMessage) -> bool:
    values = [
        message.source_system_id,
        message.channel,
        message.format,
        message.payload,
        message.control_id,
        message.message_type,
        message.peer,
        message.filename,
        message.received_at,
        message.status,
        0,
        message.error,
        message.error_location,
        json.dumps(message.outcome),
        message.processed_at,
        "",
    ]
    if len(message.payload) < _LARGE_PAYLOAD:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_SQL, values)
            row = cursor.fetchone()
    else:
        # Django's psycopg cursor binds parameters client-side, writing bytes into the SQL text as hex:
        # several copies of a 10 MB bundle at once. A server-side binding cursor sends them as they are.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_INSERT_SQL, values)
            row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    return True


def _text(value: object) -> str:
    return str(value or "")


@dataclass
class Hl7Stored:
    message: InboundMessage
    code: str  # the ACK's MSA-1: AA, or AR with the reason
    reason: str = ""
    location: str = ""


def hl7_store(
    raw: bytes,
    *,
    channel: str,
    peer: str = "",
    filename: str = "",
    source_system: SourceSystem | None = None,
    enqueue: bool = True,
) -> Hl7Stored:
    """Store one HL7 v2 message: its sender is the given source, else the one registered for MSH-3/MSH-4.

    A message that cannot be read, has no control id or comes from an unknown sender is stored as failed,
    with the reason, and answered AR.
    """
    from ingestion import hl7v2

    def failed(reason: str, location: str, **fields) -> Hl7Stored:
        message = message_receive(
            channel=channel,
            payload=raw,
            format=InboundMessage.Format.HL7V2,
            peer=peer,
            filename=filename,
            status=InboundMessage.Status.FAILED,
            error=reason,
            error_location=location,
            **fields,
        )
        return Hl7Stored(message, "AR", reason, location)

    try:
        header = hl7v2.read_header(raw)
    except Exception as exc:
        if not isinstance(exc, ValueError):
            logger.exception("reading an HL7 v2 header raised")
        return failed(f"the message cannot be read: {exc}", getattr(exc, "location", "") or "MSH")
    application = _text(header.sending_application)
    facility = _text(header.sending_facility)
    message_type = "^".join(p for p in (_text(header.message_type), _text(header.trigger_event)) if p)
    control_id = _text(header.control_id)
    source = source_system or source_for_sender(application, facility)
    if source is None:
        reason = (
            f"unknown sender: sending application {application!r}, facility {facility!r} is not a "
            "registered source system"
        )
        return failed(reason, "MSH-3", control_id=control_id, message_type=message_type)
    if not control_id:
        return failed(
            "MSH-10 (message control id) is empty", "MSH-10", source_system=source, message_type=message_type
        )
    message = message_receive(
        channel=channel,
        payload=raw,
        format=InboundMessage.Format.HL7V2,
        source_system=source,
        peer=peer,
        filename=filename,
        control_id=control_id,
        message_type=message_type,
        enqueue=enqueue,
    )
    return Hl7Stored(message, "AA")


def hl7_receive(raw: bytes, *, peer: str = "", enqueue: bool = True) -> bytes:
    """Store one HL7 v2 message and answer it: what the MLLP listener calls for each message. Never raises.

    AA once the message is stored (a repeated control id too: it changes nothing); AR with the reason when
    it cannot be parsed or its sender is not registered (stored as failed, so nothing is lost); AE when it
    could not be stored at all, so that the sender sends it again.
    """
    from ingestion import hl7v2

    try:
        stored = hl7_store(raw, channel=InboundMessage.Channel.MLLP, peer=peer, enqueue=enqueue)
        return _ack(hl7v2, raw, stored.code, stored.reason, stored.location)
    except Exception as exc:
        logger.exception("an HL7 v2 message from %s could not be stored", peer or "a peer")
        reason = f"the message could not be stored; send it again ({type(exc).__name__})"
        return _ack(hl7v2, raw, "AE", reason)


def _ack(hl7v2, raw: bytes | None, code: str, reason: str = "", location: str = "") -> bytes:
    try:
        return hl7v2.build_ack(raw, code, reason, location)
    except Exception:
        # The inbound message is too broken to echo: answer without its header.
        logger.exception("could not build an ACK from the inbound message")
        return hl7v2.build_ack(None, code, reason, location)
