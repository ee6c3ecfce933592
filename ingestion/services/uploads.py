"""A council's social care extract uploaded in Django admin: stored in the ledger, applied at once, and
reported row by row."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.models import InboundMessage
from ingestion.services.apply import message_process
from ingestion.services.ledger import message_receive
from records.models import SourceSystem


@dataclass
class ExtractReport:
    message_id: int
    status: str
    rows: int = 0
    rows_applied: int = 0
    rows_held: int = 0
    rows_rejected: int = 0
    # (line, column, reason) for each problem that kept a row out
    problems: list[dict[str, Any]] = field(default_factory=list)
    # Reasons that concern the whole file (a wrong header) or rows held for matching review.
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicate_of: int | None = None

    @property
    def loaded_whole(self) -> bool:
        return self.status == InboundMessage.Status.APPLIED and not self.rows_rejected and not self.rows_held


def social_care_extract_upload(*, source: SourceSystem, name: str, data: bytes) -> ExtractReport:
    """Store the extract, apply it now, and say which rows did not load and why (line, column, reason).

    Good rows load, rows with errors are listed; nothing is half-applied silently. The same file uploaded
    again is a duplicate: nothing changes, and the report names the first upload.
    """
    message = message_receive(
        channel=InboundMessage.Channel.UPLOAD,
        payload=data,
        format=InboundMessage.Format.CSV,
        source_system=source,
        filename=Path(name).name,
        message_type="CSV extract",
        enqueue=False,
    )
    if message.status == InboundMessage.Status.DUPLICATE:
        first = InboundMessage.objects.defer("payload").get(pk=message.duplicate_of_id)
        report = _report(first)
        report.message_id, report.duplicate_of, report.status = message.pk, first.pk, message.status
        return report
    return _report(message_process(message.pk))


def _report(message: InboundMessage) -> ExtractReport:
    outcome = message.outcome or {}
    report = ExtractReport(
        message_id=message.pk,
        status=message.status,
        rows=outcome.get("rows", 0),
        rows_applied=outcome.get("rows_applied", 0),
        rows_held=outcome.get("held", 0),
        rows_rejected=outcome.get("rows_rejected_count", 0),
        problems=list(outcome.get("rows_rejected", [])),
        warnings=list(outcome.get("warnings", [])),
    )
    report.reasons = list(outcome.get("held_reasons", []))
    if message.status == InboundMessage.Status.FAILED and not report.problems:
        report.reasons.insert(0, message.error)
    elif message.status == InboundMessage.Status.FAILED and message.error_location == "header":
        report.reasons.insert(0, "the header is wrong: nothing in the file was read")
    if message.status in InboundMessage.UNFINISHED:
        report.reasons.insert(0, f"not processed yet: {message.error or 'waiting'}")
    return report
