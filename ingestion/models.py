"""The ingestion ledger: everything a source sends is stored here, raw, before anything else happens.

An InboundMessage is one unit as received: an HL7 v2 message, a FHIR body (a whole Bundle or an NDJSON
file), or a CSV extract. Processing maps it, matches its patients and writes the record; the row keeps the
outcome, so nothing is ever silently dropped. See docs/decisions/0009-ingestion-pipeline.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class InboundMessageQuerySet(models.QuerySet["InboundMessage"]):
    def pending(self) -> InboundMessageQuerySet:
        return self.filter(status=InboundMessage.Status.RECEIVED)

    def unfinished(self) -> InboundMessageQuerySet:
        return self.filter(status__in=InboundMessage.UNFINISHED)


class InboundMessage(models.Model):
    class Channel(models.TextChoices):
        MLLP = "mllp", "MLLP"
        HTTP = "http", "HTTP"
        FILE = "file", "File (ingest command)"
        UPLOAD = "upload", "Upload (Django admin)"

    class Format(models.TextChoices):
        HL7V2 = "hl7v2", "HL7 v2"
        FHIR_JSON = "fhir-json", "FHIR JSON"
        FHIR_XML = "fhir-xml", "FHIR XML"
        NDJSON = "ndjson", "FHIR NDJSON"
        CSV = "csv", "CSV extract"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received: waiting to be processed"
        PROCESSING = "processing", "Processing"
        APPLIED = "applied", "Applied to the record"
        HELD = "held", "Held for matching review"
        FAILED = "failed", "Failed"
        DUPLICATE = "duplicate", "Duplicate: already received"
        DISCARDED = "discarded", "Discarded by an integration engineer"
        DROPPED = "dropped", "Dropped: the person has opted out"

    class Resolution(models.TextChoices):
        NONE = "", "None"
        USE_PERSON = "use_person", "File under the chosen person"
        NEW_PERSON = "new_person", "Create a new person"

    UNFINISHED = (Status.RECEIVED, Status.PROCESSING)

    source_system = models.ForeignKey(
        "records.SourceSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
        help_text="Blank when the sender could not be identified.",
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    format = models.CharField(max_length=12, choices=Format.choices)
    payload = models.BinaryField(help_text="The raw bytes as received; kept whatever happens.")
    control_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="MSH-10 for HL7 v2; a hash of the body for files and bundles. The idempotency key.",
    )
    message_type = models.CharField(max_length=40, blank=True, help_text="ORU^R01, Bundle/transaction…")
    peer = models.CharField(max_length=200, blank=True, help_text="The connection's remote address.")
    filename = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took it; a stale claim means the worker died."
    )
    error = models.TextField(blank=True, help_text="Why it failed or is held.")
    error_location = models.CharField(max_length=200, blank=True, help_text="Segment/field or FHIR element.")
    outcome = models.JSONField(default=dict, blank=True, help_text="What it became: counts, people, issues.")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # A matching reviewer's decision, used when a held message is processed again.
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True, default="")
    resolution_person = models.ForeignKey(
        "records.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The idempotency ledger: one live message per (source, control id). Duplicates point at it;
            # a discarded message frees its control id, so a corrected resend is taken.
            models.UniqueConstraint(
                fields=["source_system", "control_id"],
                condition=~Q(control_id="") & Q(duplicate_of__isnull=True) & ~Q(status="discarded"),
                name="inbound_message_unique_control_id",
            ),
        ]
        indexes = [
            # The work queue: small, since finished messages leave it.
            models.Index(
                fields=["id"],
                name="inbound_message_queue",
                condition=Q(status__in=["received", "processing"]),
            ),
            # The engineers' queues in Django admin and the feed counts.
            models.Index(fields=["status", "-received_at"], name="inbound_message_status"),
            models.Index(fields=["source_system", "-received_at"], name="inbound_message_source"),
        ]

    def __str__(self) -> str:
        what = self.message_type or self.get_format_display()
        return f"#{self.pk} {what} {self.control_id[:40]} ({self.status})"

    @property
    def text(self) -> str:
        """The payload as text, for reading in admin (HL7 segments on their own lines)."""
        raw = bytes(self.payload or b"")
        return raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


class MergeRecord(models.Model):
    """One patient merge (ADT A40/A39/A34): what moved from the retired person to the survivor, so it can
    be undone exactly."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        UNDONE = "undone", "Undone"

    message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges"
    )
    source_system = models.ForeignKey("records.SourceSystem", on_delete=models.PROTECT, related_name="+")
    surviving_person = models.ForeignKey("records.Person", on_delete=models.PROTECT, related_name="+")
    retired_person = models.ForeignKey("records.Person", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.APPLIED)
    # {"entries": [ids], "local_identifiers": [ids], "addresses": [ids], "closed_addresses": [ids],
    #  "nhs_number": "..." or null, "nhs_number_status": "..."}
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["retired_person", "status"], name="merge_retired")]

    def __str__(self) -> str:
        return f"Merge #{self.pk}: {self.retired_person_id} into {self.surviving_person_id} ({self.status})"


class IngestionAction(models.Model):
    """What an integration engineer did to a message or a merge in Django admin, and why."""

    class Action(models.TextChoices):
        REPROCESS = "reprocess", "Reprocessed"
        EDIT_REPROCESS = "edit_reprocess", "Edited and reprocessed"
        DISCARD = "discard", "Discarded"
        RESOLVE_MATCH = "resolve_match", "Matching resolved"
        UNDO_MERGE = "undo_merge", "Merge undone"
        REQUEUE = "requeue", "Requeued"

    message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="actions"
    )
    merge = models.ForeignKey(
        MergeRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="actions"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user or 'system'} at {self.created_at:%Y-%m-%d %H:%M}"


# The integration engineers' queues in Django admin: one list each, over the same table.
class HeldMessage(InboundMessage):
    class Meta:
        proxy = True
        verbose_name = "held message (matching review)"
        verbose_name_plural = "held messages (matching review)"


class FailedMessage(InboundMessage):
    class Meta:
        proxy = True
        verbose_name = "failed message"


class DuplicateMessage(InboundMessage):
    class Meta:
        proxy = True
        verbose_name = "duplicate message"
