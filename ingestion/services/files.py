"""Files through the pipeline: what `manage.py ingest` and the admin upload share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.models import InboundMessage
from ingestion.services import apply, ledger
from records.models import SourceSystem

Format = InboundMessage.Format
_SUFFIXES = {
    ".csv": Format.CSV,
    ".ndjson": Format.NDJSON,
    ".jsonl": Format.NDJSON,
    ".xml": Format.FHIR_XML,
    ".json": Format.FHIR_JSON,
}


class UnknownFormat(ValueError):
    pass


def detect_format(name: str, data: bytes) -> str:
    """HL7 v2 when it starts with MSH (whatever the name says); otherwise by suffix, then by first byte."""
    start = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n\x0b")
    if start.startswith(b"MSH") or start.startswith(b"FHS") or start.startswith(b"BHS"):
        return Format.HL7V2
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if start.startswith(b"<"):
        return Format.FHIR_XML
    if start.startswith(b"{"):
        lines = [line for line in data[:65536].splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith(b"{") for line in lines[:5]):
            return Format.NDJSON
        return Format.FHIR_JSON
    raise UnknownFormat(
        f"{name}: not HL7 v2 (no MSH segment first), FHIR (JSON, XML, NDJSON) or CSV (.csv): not ingested"
    )


@dataclass
class FileReport:
    name: str
    format: str = ""
    message_ids: list[int] = field(default_factory=list)
    error: str = ""


def file_receive(
    *,
    name: str,
    data: bytes,
    channel: str = InboundMessage.Channel.FILE,
    source_system: SourceSystem | None = None,
) -> FileReport:
    """Store a file's messages (several for an HL7 v2 batch file, one otherwise), not yet processed."""
    report = FileReport(name=name)
    try:
        report.format = detect_format(name, data)
    except UnknownFormat as exc:
        report.error = str(exc)
        return report
    filename = Path(name).name
    if report.format == Format.HL7V2:
        from ingestion import hl7v2

        for raw in hl7v2.split_messages(data):
            stored = ledger.hl7_store(
                raw, channel=channel, filename=filename, source_system=source_system, enqueue=False
            )
            report.message_ids.append(stored.message.pk)
        if not report.message_ids:
            report.error = f"{name}: no HL7 v2 message found"
        return report
    if source_system is None:
        report.error = f"{name}: FHIR and CSV files name no sender: give the source system (--source CODE)"
        return report
    message = ledger.message_receive(
        channel=channel,
        payload=data,
        format=report.format,
        source_system=source_system,
        filename=filename,
        message_type="CSV extract" if report.format == Format.CSV else "",
        enqueue=False,
    )
    report.message_ids.append(message.pk)
    return report


def summarise(reports: Sequence[FileReport]) -> dict[str, Any]:
    """What `ingest --json` prints: counts by outcome, and every reason."""
    ids = [pk for report in reports for pk in report.message_ids]
    names = {pk: report.name for report in reports for pk in report.message_ids}
    messages = InboundMessage.objects.filter(id__in=ids).defer("payload").order_by("id")
    statuses: Counter = Counter()
    entries: Counter = Counter()
    reasons: list[dict[str, Any]] = [
        {"file": report.name, "status": "rejected", "reason": report.error}
        for report in reports
        if report.error
    ]
    records = {"records": 0, "people": 0}
    for message in messages:
        statuses[message.status] += 1
        outcome = message.outcome or {}
        entries.update(outcome.get("entries", {}))
        records["records"] += outcome.get("records", 0)
        records["people"] += outcome.get("people_count", 0)
        reason = message.error
        if message.status == InboundMessage.Status.DUPLICATE:
            first = message.duplicate_of_id
            reason = f"control id {message.control_id} was received before (message {first})"
        if reason:
            reasons.append(
                {
                    "file": names[message.pk],
                    "message_id": message.pk,
                    "control_id": message.control_id,
                    "message_type": message.message_type,
                    "status": message.status,
                    "reason": reason,
                    "location": message.error_location,
                }
            )
    Status = InboundMessage.Status
    return {
        "files": len(reports),
        "messages": len(ids),
        "accepted": statuses[Status.APPLIED],
        "rejected": statuses[Status.FAILED] + sum(1 for report in reports if report.error),
        "held": statuses[Status.HELD],
        "duplicates": statuses[Status.DUPLICATE],
        "dropped": statuses[Status.DROPPED],
        "waiting": statuses[Status.RECEIVED] + statuses[Status.PROCESSING],
        "entries": {k: entries.get(k, 0) for k in ("created", "updated", "skipped")},
        **records,
        "reasons": reasons,
    }


def files_ingest(
    files: Sequence[tuple[str, bytes]],
    *,
    source_system: SourceSystem | None = None,
    channel: str = InboundMessage.Channel.FILE,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Store, then process, each file; the summary of what happened."""
    reports = [file_receive(name=n, data=d, channel=channel, source_system=source_system) for n, d in files]
    apply.messages_process([pk for report in reports for pk in report.message_ids], progress=progress)
    return summarise(reports)
