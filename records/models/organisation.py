import hashlib
import secrets
from datetime import date, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def sharing_on(self, day: date) -> "OrganisationQuerySet":
        """Organisations whose information-sharing agreement is in force on that day."""
        return self.filter(
            Q(sharing_agreement_to__isnull=True) | Q(sharing_agreement_to__gte=day),
            sharing_agreement_from__isnull=False,
            sharing_agreement_from__lte=day,
        )


class Organisation(models.Model):
    """A partner organisation, identified by its ODS code."""

    class Kind(models.TextChoices):
        GP_PRACTICE = "gp_practice", "GP practice"
        ACUTE_TRUST = "acute_trust", "Acute hospital trust"
        COMMUNITY_TRUST = "community_trust", "Community trust"
        MENTAL_HEALTH_TRUST = "mental_health_trust", "Mental health trust"
        COMMUNITY_AND_MENTAL_HEALTH_TRUST = "community_mh_trust", "Community and mental health trust"
        COUNCIL_SOCIAL_CARE = "council_social_care", "Council social care"
        AMBULANCE_SERVICE = "ambulance_service", "Ambulance service"
        OUT_OF_AREA_HOSPITAL = "out_of_area_hospital", "Out-of-area hospital"
        INTEGRATED_CARE_BOARD = "icb", "Integrated care board"

    ods_code = models.CharField("ODS code", max_length=12, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    address = models.TextField(blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    sharing_agreement_from = models.DateField(
        null=True, blank=True, help_text="Its data is shown only while the agreement is in force."
    )
    sharing_agreement_to = models.DateField(null=True, blank=True, help_text="Blank: open-ended.")
    data_controller_name = models.CharField(max_length=200, blank=True)
    data_controller_email = models.EmailField(blank=True)
    data_controller_phone = models.CharField(max_length=40, blank=True)
    licences = models.PositiveIntegerField(
        null=True, blank=True, help_text="User accounts this partner may hold. Blank: no limit."
    )
    allows_self_claim = models.BooleanField(
        default=False,
        help_text="Staff may self-claim a care relationship, with a reason; each one is reviewed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="organisation_agreement_ends_after_start",
                condition=Q(sharing_agreement_to__isnull=True)
                | Q(
                    sharing_agreement_from__isnull=False,
                    sharing_agreement_to__gte=models.F("sharing_agreement_from"),
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    def active_user_count(self) -> int:
        return self.memberships.filter(is_active=True, user__is_active=True).values("user").distinct().count()

    def is_sharing_on(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        if self.sharing_agreement_from is None or self.sharing_agreement_from > day:
            return False
        return self.sharing_agreement_to is None or self.sharing_agreement_to >= day


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SourceSystem(models.Model):
    """A system that sends data (a PAS, a lab, a GP system, a council's case system)."""

    class Kind(models.TextChoices):
        HL7V2 = "hl7v2", "HL7 v2"
        FHIR = "fhir", "FHIR R4"
        CSV = "csv", "CSV extract"

    class Mode(models.TextChoices):
        TEST = "test", "Test: processed, not shown in the record"
        LIVE = "live", "Live"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="source_systems")
    code = models.SlugField(max_length=64, unique=True, help_text="Short stable name, e.g. rbd-pas.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.TEST)
    # HL7 v2 senders are recognised by MSH-3 (sending application) and MSH-4 (sending facility).
    hl7_sending_application = models.CharField(max_length=180, blank=True)
    hl7_sending_facility = models.CharField(max_length=180, blank=True)
    # Namespace of its own patient numbers (PID-3 assigning authority, or a FHIR identifier system).
    local_identifier_system = models.CharField(max_length=255, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    expected_interval = models.DurationField(
        default=timedelta(hours=1), help_text="Warn when a live feed has been quiet for longer than this."
    )
    last_message_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hl7_sending_application", "hl7_sending_facility"],
                condition=~Q(hl7_sending_application=""),
                name="source_system_unique_hl7_sender",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.ods_code})"

    @property
    def is_live(self) -> bool:
        return self.mode == self.Mode.LIVE

    def issue_token(self) -> str:
        """A new credential; only its hash is kept, so the token is shown once."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.token_issued_at = timezone.now()
        self.token_revoked_at = None
        return token

    def revoke_token(self) -> None:
        self.token_revoked_at = timezone.now()

    def token_matches(self, token: str) -> bool:
        return (
            bool(self.token_hash)
            and self.token_revoked_at is None
            and secrets.compare_digest(self.token_hash, hash_token(token))
        )
