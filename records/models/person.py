from django.contrib.postgres.indexes import GinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from records import nhs_numbers


def validate_nhs_number(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not nhs_numbers.is_valid(value):
        raise ValidationError(
            "%(value)s is not a valid NHS number (wrong length or check digit).", params={"value": value}
        )


class PersonQuerySet(models.QuerySet["Person"]):
    def with_nhs_number(self, value: str) -> "PersonQuerySet":
        return self.filter(nhs_number=nhs_numbers.normalise(value))


class Person(models.Model):
    """One citizen. Demographics come from the sources; each field remembers which one (provenance)."""

    class Gender(models.TextChoices):
        # FHIR administrative-gender
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class NhsNumberStatus(models.TextChoices):
        # UKCore-NHSNumberVerificationStatusEngland
        VERIFIED = "01", "Number present and verified"
        NOT_TRACED = "02", "Number present but not traced"
        TRACE_REQUIRED = "03", "Trace required"
        NO_MATCH = "04", "Trace attempted - no match or multiple match found"
        TO_RESOLVE = "05", "Trace needs to be resolved"
        IN_PROGRESS = "06", "Trace in progress"
        NOT_PRESENT = "07", "Number not present and trace not required"
        POSTPONED = "08", "Trace postponed (baby under six weeks old)"

    nhs_number = models.CharField(
        "NHS number",
        max_length=10,
        unique=True,
        null=True,
        blank=True,
        validators=[RegexValidator(r"^\d{10}$"), validate_nhs_number],
        help_text="Ten digits, check digit validated; blank until a source supplies a valid one.",
    )
    nhs_number_status = models.CharField(
        "NHS number verification", max_length=2, choices=NhsNumberStatus.choices, blank=True
    )
    title = models.CharField(max_length=40, blank=True)
    given_names = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    preferred_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    date_of_death = models.DateField(null=True, blank=True)
    phone_home = models.CharField(max_length=40, blank=True)
    phone_mobile = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    registered_practice = models.ForeignKey(
        "records.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registered_people",
        limit_choices_to={"kind": "gp_practice"},
    )
    registered_gp_code = models.CharField("registered GP (GMP code)", max_length=12, blank=True)
    registered_gp_name = models.CharField("registered GP", max_length=200, blank=True)
    # PDS "S-flag": address, phone and GP are never shown, whatever the feed sends.
    is_restricted = models.BooleanField(default=False)
    # Opening these records raises an alert to the privacy officer.
    is_staff_member = models.BooleanField("member of staff", default=False)
    is_public_figure = models.BooleanField(default=False)
    # {field: {"source": source_system_id, "at": ISO time of the source's update}}
    field_provenance = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "people"
        ordering = ["family_name", "given_names"]
        constraints = [
            models.CheckConstraint(
                name="person_nhs_number_ten_digits", condition=Q(nhs_number__regex=r"^\d{10}$")
            ),
        ]
        indexes = [
            GinIndex(name="person_family_name_trgm", fields=["family_name"], opclasses=["gin_trgm_ops"]),
            GinIndex(name="person_given_names_trgm", fields=["given_names"], opclasses=["gin_trgm_ops"]),
            models.Index(name="person_dob", fields=["date_of_birth"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.nhs_number_display or 'no NHS number'})"

    @property
    def display_name(self) -> str:
        """As NHS screens show it: FAMILY, Given (Title)."""
        name = f"{self.family_name.upper()}, {self.given_names}".strip(", ")
        return f"{name} ({self.title})" if self.title else name

    @property
    def nhs_number_display(self) -> str:
        return nhs_numbers.formatted(self.nhs_number)

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None

    def age_on(self, day=None) -> int | None:
        if self.date_of_birth is None:
            return None
        day = day or self.date_of_death or timezone.localdate()
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def current_address(self) -> "PersonAddress | None":
        return self.addresses.filter(period_end__isnull=True).order_by("-period_start", "-pk").first()


class PersonAddress(models.Model):
    """Address history: the current address has no end date."""

    class Use(models.TextChoices):
        HOME = "home", "Home"
        TEMPORARY = "temp", "Temporary"
        OLD = "old", "Previous"
        BILLING = "billing", "Correspondence"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="addresses")
    use = models.CharField(max_length=8, choices=Use.choices, default=Use.HOME)
    lines = models.TextField(help_text="House and street, one line each.")
    town = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True, db_index=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    source_system = models.ForeignKey(
        "records.SourceSystem", null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "person addresses"
        ordering = ["person", "-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(period_end__isnull=True, use="home"),
                name="person_one_current_home_address",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in [*self.lines.splitlines(), self.town, self.postcode] if part)


class LocalIdentifier(models.Model):
    """A source's own patient number (hospital MRN, council client id) cross-referenced to a Person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="local_identifiers")
    system = models.CharField(
        max_length=255, help_text="Who assigned it: an HL7 assigning authority or a FHIR identifier system."
    )
    value = models.CharField(max_length=100)
    type_code = models.CharField(max_length=8, blank=True, help_text="HL7 table 0203: MR, PI, ...")
    source_system = models.ForeignKey(
        "records.SourceSystem", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="local_identifier_unique_per_system"),
        ]

    def __str__(self) -> str:
        return f"{self.value} ({self.system})"
