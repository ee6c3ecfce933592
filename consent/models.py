"""Opt-outs from the shared care record, and the people who may act for someone who cannot.

An opt-out request arrives on the public form or by phone, post or leaflet (staff enter those), and the
privacy officer approves or rejects it. Once approved the person's record is erased and only the minimum
needed to honour the choice is kept: NHS number, dates, channel and reference.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.models.person import validate_nhs_number

# Unambiguous characters only (no 0/O, 1/I/L): references are read out over the phone.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(prefix: str = "OPT") -> str:
    """A random reference such as OPT-7K3M-9QX2: unguessable, so it says nothing about other requests."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


class OptOutQuerySet(models.QuerySet["OptOut"]):
    def in_force(self) -> OptOutQuerySet:
        """Approved and not withdrawn."""
        return self.filter(status=OptOut.Status.APPROVED)

    def awaiting_decision(self) -> OptOutQuerySet:
        return self.filter(status=OptOut.Status.RECEIVED)


class OptOut(models.Model):
    """A request not to have a shared care record, and, once approved, the choice being honoured."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received: awaiting decision"
        APPROVED = "approved", "Approved: in force"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Channel(models.TextChoices):
        WEB = "web", "Web form"
        EASY_READ = "easy_read", "Easy-read web form"
        PHONE = "phone", "Phone"
        POST = "post", "Letter by post"
        LEAFLET = "leaflet", "Paper leaflet"
        IN_PERSON = "in_person", "In person"

    class OnBehalf(models.TextChoices):
        SELF = "self", "Myself"
        CHILD = "child", "A child I have parental responsibility for"
        AUTHORITY = "authority", "Someone I have legal authority to act for"

    class RejectionReason(models.TextChoices):
        # Told to the applicant in their language, so these are translated (locale/).
        IDENTITY = "identity", _("We could not confirm who the request is about from the details given.")
        AUTHORITY = (
            "authority",
            _(
                "The request did not show that the person making it has authority to act for "
                "the person it is about."
            ),
        )
        DUPLICATE = "duplicate", _("An opt-out is already in force for this person.")
        INCOMPLETE = (
            "incomplete",
            _("The request was missing details we need, or the declaration was not confirmed."),
        )
        OTHER = "other", _("Another reason, explained below.")

    class Authority(models.TextChoices):
        PARENTAL = "parental", "Parental responsibility"
        LPA_HEALTH = "lpa_health", "Lasting power of attorney for health and welfare"
        DEPUTY = "deputy", "Court-appointed deputy for personal welfare"
        OTHER = "other", "Other (described)"

    reference = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(
        max_length=8, default="en-gb", help_text="Language the applicant used; the letter is written in it."
    )
    received_at = models.DateTimeField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Staff member who entered a phone, post or leaflet request.",
    )

    # What the applicant told us about the person. Cleared once the request is approved (or withdrawn),
    # except the NHS number that the opt-out is enforced by.
    nhs_number = models.CharField(
        "NHS number",
        max_length=10,
        blank=True,
        db_index=True,
        validators=[validate_nhs_number],
        help_text="As given, or as matched by the privacy officer. Ingestion drops data for it.",
    )
    given_names = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address = models.TextField(blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    on_behalf = models.CharField(max_length=10, choices=OnBehalf.choices, default=OnBehalf.SELF)
    authority = models.CharField(max_length=12, choices=Authority.choices, blank=True)
    authority_detail = models.TextField(blank=True)
    applicant_name = models.CharField(max_length=200, blank=True)
    applicant_address = models.TextField(blank=True)
    applicant_email = models.EmailField(blank=True)
    applicant_phone = models.CharField(max_length=40, blank=True)
    declaration = models.BooleanField(default=False)

    # The decision.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=12, choices=RejectionReason.choices, blank=True)
    decision_reason = models.TextField(
        blank=True, help_text="The officer's note; on a rejection, told to the applicant."
    )
    erased = models.JSONField(
        default=dict, blank=True, help_text="Counts of what was removed from the record on approval."
    )
    letter_text = models.TextField(
        blank=True, help_text="Confirmation letter to send; cleared when marked sent."
    )
    letter_sent_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_note = models.TextField(blank=True, help_text="How the withdrawal reached us.")

    objects = OptOutQuerySet.as_manager()

    class Meta:
        verbose_name = "opt-out"
        ordering = ["-received_at"]
        constraints = [
            # One opt-out in force per person: ingestion looks it up by NHS number.
            models.UniqueConstraint(
                fields=["nhs_number"], condition=Q(status="approved"), name="opt_out_one_in_force"
            ),
            models.CheckConstraint(
                name="opt_out_approved_has_nhs_number", condition=~Q(status="approved") | ~Q(nhs_number="")
            ),
            models.CheckConstraint(
                name="opt_out_rejection_has_reason",
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="opt_out_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def is_in_force(self) -> bool:
        return self.status == self.Status.APPROVED


def one_month_after(day: date) -> date:
    """UK GDPR's month: to the same date next month, or the month's last day if it has no such date."""
    import calendar

    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class SubjectAccessRequest(models.Model):
    """A person's request for a copy of what the record holds about them (UK GDPR Art. 15 and 20)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PRODUCED = "produced", "Pack produced"
        SENT = "sent", "Sent to the person"

    reference = models.CharField(max_length=16, unique=True, editable=False)
    nhs_number = models.CharField("NHS number", max_length=10, validators=[validate_nhs_number])
    requested_by = models.CharField(
        max_length=200, help_text="The person, or who asked for them (and their authority)."
    )
    received_on = models.DateField(default=timezone.localdate)
    identity_checked_on = models.DateField(
        null=True, blank=True, help_text="The one-month clock starts once identity is confirmed."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    produced_at = models.DateTimeField(null=True, blank=True, editable=False)
    produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_on"]

    def __str__(self) -> str:
        return self.reference

    @property
    def due_on(self) -> date:
        return one_month_after(self.identity_checked_on or self.received_on)


class ProxyAuthority(models.TextChoices):
    LPA_HEALTH = "lpa_health", "Lasting power of attorney for health and welfare"
    DEPUTY = "deputy", "Court-appointed deputy for personal welfare"
    PARENTAL = "parental", "Parental responsibility"


class LegalProxyQuerySet(models.QuerySet["LegalProxy"]):
    def in_force_on(self, day: date) -> LegalProxyQuerySet:
        return self.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
            valid_from__lte=day,
            revoked_at__isnull=True,
            verified_at__isnull=False,
        )


class LegalProxy(models.Model):
    """Someone with legal authority to make decisions about a person's care, and the evidence seen."""

    person = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="legal_proxies")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100, blank=True, help_text="Daughter, mother, solicitor…")
    authority = models.CharField(max_length=12, choices=ProxyAuthority.choices)
    evidence_seen = models.TextField(
        help_text="The document seen: an LPA stamped by the Office of the Public Guardian, a court order, "
        "a birth certificate or parental responsibility agreement…"
    )
    evidence_reference = models.CharField(
        max_length=100, blank=True, help_text="OPG reference, court case number…"
    )
    valid_from = models.DateField()
    valid_until = models.DateField(
        null=True, blank=True, help_text="Blank: open-ended (an LPA); a child's 18th birthday for parents."
    )
    person_lacks_capacity = models.BooleanField(
        default=False, help_text="Assessed as lacking capacity to decide about sharing their record."
    )
    capacity_assessment = models.TextField(blank=True, help_text="Who assessed capacity, when, for what.")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LegalProxyQuerySet.as_manager()

    class Meta:
        verbose_name = "carer or legal proxy"
        verbose_name_plural = "carers and legal proxies"
        ordering = ["person", "name"]
        constraints = [
            models.CheckConstraint(
                name="legal_proxy_valid_until_after_from",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_authority_display()})"

    def is_in_force_on(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return (
            self.verified_at is not None
            and self.revoked_at is None
            and self.valid_from <= day
            and (self.valid_until is None or self.valid_until >= day)
        )


PROXY_PERMISSION_MAX = timedelta(days=90)


class ProxyPermission(models.Model):
    """A proxy's permission for one named professional to see the record of a person who lacks capacity.

    Carried out as a granted care relationship (records.access.care_relationship_grant) that expires.
    """

    proxy = models.ForeignKey(LegalProxy, on_delete=models.CASCADE, related_name="permissions")
    professional = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    grant = models.ForeignKey(
        "records.PersonUserObjectPermission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                name="proxy_permission_at_most_90_days",
                condition=Q(expires_at__gt=F("granted_at"))
                & Q(expires_at__lte=F("granted_at") + PROXY_PERMISSION_MAX),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional} until {self.expires_at:%d %b %Y}"

    @property
    def is_in_force(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
