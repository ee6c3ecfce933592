from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionBase

from records.models.entry import Sensitivity


class PersonUserObjectPermissionQuerySet(models.QuerySet["PersonUserObjectPermission"]):
    def in_force(self, at=None) -> "PersonUserObjectPermissionQuerySet":
        at = at or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class PersonUserObjectPermission(UserObjectPermissionBase):
    """A care relationship granted on one person (a django-guardian object permission), with an expiry."""

    content_object = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="user_grants")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Blank: until revoked.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    # guardian's manager (assign_perm and friends need it) with our in_force() filter
    objects = UserObjectPermissionManager.from_queryset(PersonUserObjectPermissionQuerySet)()

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "granted care relationship"


class AccessGrant(models.Model):
    """Access a user took without a relationship from the data: break-glass or a self-claimed relationship.

    Both are time-limited, alert the privacy officer and wait for their review.
    """

    class Basis(models.TextChoices):
        BREAK_GLASS = "break_glass", "Break-glass (emergency)"
        SELF_CLAIM = "self_claim", "Self-claimed relationship"

    class Reason(models.TextChoices):
        EMERGENCY_CARE = "emergency", "Emergency care: the person cannot consent"
        UNSCHEDULED_CARE = "unscheduled", "Unscheduled care: the person has just presented"
        SAFEGUARDING = "safeguarding", "Safeguarding concern"
        NEW_REFERRAL = "new_referral", "New referral not yet on the system"
        CLINICAL_HANDOVER = "handover", "Clinical handover from a colleague"
        OTHER = "other", "Other (explain below)"

    class Review(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        APPROPRIATE = "appropriate", "Appropriate"
        INAPPROPRIATE = "inappropriate", "Inappropriate: referred for investigation"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants")
    membership = models.ForeignKey(
        "records.Membership", on_delete=models.PROTECT, related_name="access_grants"
    )
    person = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="access_grants")
    basis = models.CharField(max_length=16, choices=Basis.choices)
    reason_code = models.CharField(max_length=16, choices=Reason.choices)
    reason_text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    review = models.CharField(max_length=16, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "person", "expires_at"], name="access_grant_lookup")]
        constraints = [
            models.CheckConstraint(
                name="access_grant_other_needs_text", condition=~Q(reason_code="other") | ~Q(reason_text="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_basis_display()} by {self.user} ({self.created_at:%d %b %Y %H:%M})"

    @property
    def is_in_force(self) -> bool:
        return self.expires_at > timezone.now()


BREAK_GLASS_DURATION = timedelta(hours=4)
SELF_CLAIM_DURATION = timedelta(days=30)


class SensitiveCode(models.Model):
    """A code whose entries are withheld from everyone outside the source organisation.

    Defaults follow the RCGP sensitive data set (sexual health, IVF, gender reassignment, terminations).
    """

    code_system = models.CharField(max_length=120, default="http://snomed.info/sct")
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=300)
    sensitivity = models.CharField(
        max_length=24, choices=[(c.value, c.label) for c in Sensitivity if c != Sensitivity.NORMAL]
    )

    class Meta:
        ordering = ["sensitivity", "display"]
        constraints = [models.UniqueConstraint(fields=["code_system", "code"], name="sensitive_code_unique")]

    def __str__(self) -> str:
        return f"{self.display} ({self.code}): {self.get_sensitivity_display()}"
