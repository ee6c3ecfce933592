from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CorrectionRequest(models.Model):
    """Someone says an entry is wrong. The record is never edited here: the request goes to the data
    controller of the organisation that sent the entry, who corrects it in their own system; the
    corrected version then arrives through the feed like any other update."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        SENT_TO_SOURCE = "sent_to_source", "Sent to the source organisation"
        CORRECTED_AT_SOURCE = "corrected_at_source", "Corrected at source"
        DECLINED = "declined", "Declined"

    reference = models.CharField(max_length=16, unique=True, editable=False)
    entry = models.ForeignKey(
        "records.Entry", null=True, on_delete=models.SET_NULL, related_name="correction_requests"
    )
    # Removing a person (an opt-out) removes what was reported about them too.
    person = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="correction_requests")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="correction_requests"
    )
    reporter_organisation = models.ForeignKey(
        "records.Organisation", null=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "records.Organisation",
        on_delete=models.PROTECT,
        related_name="correction_requests",
        help_text="The source organisation whose data controller must correct the entry.",
    )
    what_is_wrong = models.TextField()
    on_behalf_of = models.CharField(
        max_length=200,
        blank=True,
        help_text="When raised for a citizen through the privacy officer: who asked, and how (e.g. letter).",
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    decline_reason = models.TextField(blank=True)
    # The entry as it was when reported, so the reporter sees what they reported even after it changes.
    reported_resource = models.JSONField()
    reported_summary = models.CharField(max_length=300, blank=True)
    reported_category = models.CharField(max_length=20)
    reported_source_updated_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="Data controller emailed.")
    sent_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="correction_queue"),
            models.Index(fields=["reporter", "-created_at"], name="correction_reporter"),
        ]
        constraints = [
            models.CheckConstraint(
                name="correction_declined_needs_reason",
                condition=~Q(status="declined") | ~Q(decline_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.SENT_TO_SOURCE)
