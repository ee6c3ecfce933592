from django.conf import settings
from django.db import models


class AccessEvent(models.Model):
    """One look at person data, or one refused attempt. Append-only and hash-chained.

    The database refuses UPDATE, DELETE and TRUNCATE on this table, and a trigger sets `seq`, `prev_hash`
    and `hash` under a lock, so the chain cannot be forged by a writer that skips the application
    (see audit/migrations/0002 and `manage.py verify_audit`). Who and whom are kept as values as well as
    ids: an access event outlives the user account and the person's record (an opt-out removes the
    record but never the trail of who looked at it).
    """

    class Action(models.TextChoices):
        SEARCH = "search", "Search"
        VIEW_RECORD = "view_record", "View record"
        VIEW_SECTION = "view_section", "View section"
        VIEW_DOCUMENT = "view_document", "View document"
        BREAK_GLASS = "break_glass", "Break-glass"
        SELF_CLAIM = "self_claim", "Self-claimed relationship"
        EXPORT = "export", "Export"
        CONTEXT_LAUNCH = "context_launch", "Context launch"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"

    seq = models.BigIntegerField(unique=True, editable=False, null=True, help_text="Set by the database.")
    occurred_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )
    user_display = models.CharField(max_length=200)
    role_code = models.CharField(max_length=40, blank=True)
    role_name = models.CharField(max_length=100, blank=True)
    organisation_ods = models.CharField(max_length=12, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    person_nhs_number = models.CharField(max_length=10, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    # What was shown: {"page": "summary", "categories": [...], "entries": [ids], "query": {...}, "results": n}
    detail = models.JSONField(default=dict)
    basis = models.CharField(max_length=40, blank=True, help_text="Which relationship allowed it.")
    basis_detail = models.TextField(blank=True, help_text="Break-glass reason, launching partner, …")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    session_ref = models.CharField(max_length=64, blank=True, help_text="Hash of the session key.")
    prev_hash = models.CharField(max_length=64, editable=False, blank=True)
    hash = models.CharField(max_length=64, editable=False, blank=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["user", "occurred_at"], name="access_event_user_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.user_display} {self.get_action_display()}"


class PrivacyAlert(models.Model):
    """Something a privacy officer must look at. Emails carry only the reference, never who or what."""

    class Kind(models.TextChoices):
        BREAK_GLASS = "break_glass", "Break-glass access"
        SELF_CLAIM = "self_claim", "Self-claimed relationship"
        OWN_RECORD = "own_record", "User opened their own record"
        STAFF_RECORD = "staff_record", "Record of a member of staff opened"
        PUBLIC_FIGURE = "public_figure", "Record of a public figure opened"
        LICENCE = "licence", "Licences exceeded"
        OPT_OUT = "opt_out", "New opt-out request"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Reviewed"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    person_id = models.BigIntegerField(null=True, blank=True)
    access_grant = models.ForeignKey("records.AccessGrant", null=True, blank=True, on_delete=models.SET_NULL)
    access_event = models.ForeignKey(
        AccessEvent, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return f"{self.reference}: {self.get_kind_display()}"
