from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models

from records.models.entry import EntryCategory


class User(AbstractUser):
    """A professional (or a privacy officer, or an administrator) who signs in."""

    email = models.EmailField(unique=True)
    sds_user_id = models.CharField("SDS user id", max_length=20, blank=True, help_text="Smartcard user id.")
    # Used only to alert when staff open their own record or a neighbour's (anomaly report).
    nhs_number = models.CharField("own NHS number", max_length=10, blank=True)
    home_postcode = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username


class Role(models.Model):
    """A job role, as in NHS role-based access, with the categories of the record it may see."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    job_role_code = models.CharField(
        "national job role code", max_length=8, blank=True, help_text="UKCore-SDSJobRoleName, e.g. R0260."
    )
    categories = ArrayField(
        models.CharField(max_length=20, choices=EntryCategory.choices),
        default=list,
        blank=True,
        help_text="Categories of the record this role sees.",
    )
    sees_demographics = models.BooleanField(default=True)
    is_clinical = models.BooleanField(default=False)
    sees_safeguarding = models.BooleanField(default=False, help_text="Sees safeguarding items in full.")
    may_break_glass = models.BooleanField(default=False, help_text="May open a record in an emergency.")
    reads_records = models.BooleanField(
        default=True,
        help_text="Off for roles that work only in Django admin (privacy officer, system admin).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user works for an organisation in a role; they pick one to act in for the session."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        "records.Organisation", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    team = models.CharField(max_length=120, blank=True, help_text="Social care or community team, if any.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "organisation"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.role} at {self.organisation.ods_code}"

    def clean(self) -> None:
        """A partner may hold only as many user accounts as it has licences."""
        from django.core.exceptions import ValidationError

        organisation = self.organisation
        if not self.is_active or organisation.licences is None or self.user_id is None:
            return
        users = set(
            Membership.objects.filter(organisation=organisation, is_active=True, user__is_active=True)
            .exclude(pk=self.pk)
            .values_list("user_id", flat=True)
        )
        if self.user_id not in users and len(users) >= organisation.licences:
            raise ValidationError(
                f"{organisation.name} has used all {organisation.licences} of its licences "
                f"({len(users)} active users). Deactivate an account or ask for more licences."
            )
