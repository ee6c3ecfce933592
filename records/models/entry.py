from django.db import models
from django.db.models import Q


class EntryCategory(models.TextChoices):
    """The categories of the record. Roles see categories; the timeline filters by them."""

    ENCOUNTER = "encounter", "Encounter"
    APPOINTMENT = "appointment", "Appointment"
    REFERRAL = "referral", "Referral"
    MEDICATION = "medication", "Medication"
    ALLERGY = "allergy", "Allergy"
    PROBLEM = "problem", "Problem or diagnosis"
    LAB_RESULT = "lab_result", "Laboratory result"
    LAB_REPORT = "lab_report", "Laboratory report"
    IMAGING_REPORT = "imaging_report", "Imaging report"
    DOCUMENT = "document", "Document"
    CARE_PLAN = "care_plan", "Care or support plan"
    RELATED_PERSON = "related_person", "Related person"
    ALERT = "alert", "Alert"


# The FHIR R4 resource types each category is stored as.
CATEGORY_RESOURCE_TYPES: dict[str, tuple[str, ...]] = {
    EntryCategory.ENCOUNTER: ("Encounter",),
    EntryCategory.APPOINTMENT: ("Appointment",),
    EntryCategory.REFERRAL: ("ServiceRequest",),
    EntryCategory.MEDICATION: ("MedicationStatement", "MedicationRequest"),
    EntryCategory.ALLERGY: ("AllergyIntolerance",),
    EntryCategory.PROBLEM: ("Condition",),
    EntryCategory.LAB_RESULT: ("Observation",),
    EntryCategory.LAB_REPORT: ("DiagnosticReport",),
    EntryCategory.IMAGING_REPORT: ("DiagnosticReport",),
    EntryCategory.DOCUMENT: ("DocumentReference",),
    EntryCategory.CARE_PLAN: ("CarePlan",),
    EntryCategory.RELATED_PERSON: ("RelatedPerson",),
    EntryCategory.ALERT: ("Flag",),
}


class Sensitivity(models.TextChoices):
    NORMAL = "normal", "Normal"
    SEXUAL_HEALTH = "sexual_health", "Sexual health"
    FERTILITY = "fertility", "Assisted conception / IVF"
    GENDER_REASSIGNMENT = "gender_reassignment", "Gender reassignment"
    TERMINATION = "termination", "Termination of pregnancy"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    RESTRICTED = "restricted", "Restricted by the source"


class EntryQuerySet(models.QuerySet["Entry"]):
    def for_person(self, person) -> "EntryQuerySet":
        return self.filter(person=person)

    def in_category(self, *categories: str) -> "EntryQuerySet":
        return self.filter(category__in=categories)

    def newest_first(self) -> "EntryQuerySet":
        return self.order_by(models.F("occurred_at").desc(nulls_last=True), "-id")


class Entry(models.Model):
    """One clinical or social care item, kept as the FHIR R4 resource plus the columns we query on.

    The resource is the source of truth for display and export; the columns are copies taken from it at
    write time so that the timeline, filters and access rules never need to open the JSON.
    """

    person = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="entries")
    category = models.CharField(max_length=20, choices=EntryCategory.choices)
    subtype = models.CharField(
        max_length=40,
        blank=True,
        help_text="Kind within the category: discharge-letter, next-of-kin, carer, inpatient, home-care…",
    )
    resource_type = models.CharField(max_length=40)
    resource = models.JSONField(help_text="The FHIR R4 resource, valid under fhir.resources.")
    summary = models.CharField(max_length=300, blank=True, help_text="One line for lists and the timeline.")
    occurred_at = models.DateTimeField(null=True, blank=True, help_text="When it happened or starts.")
    ended_at = models.DateTimeField(null=True, blank=True)
    review_due_on = models.DateField(
        null=True, blank=True, help_text="Planned review (care and support plans)."
    )
    code_system = models.CharField(max_length=120, blank=True)
    code = models.CharField(max_length=64, blank=True)
    code_display = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=40, blank=True)
    allocated_team = models.CharField(
        max_length=120, blank=True, help_text="Social care team the person is allocated to (care plans)."
    )
    sensitivity = models.CharField(max_length=24, choices=Sensitivity.choices, default=Sensitivity.NORMAL)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="The report a result belongs to.",
    )
    source_organisation = models.ForeignKey(
        "records.Organisation", on_delete=models.PROTECT, related_name="entries"
    )
    source_system = models.ForeignKey(
        "records.SourceSystem", on_delete=models.PROTECT, related_name="entries"
    )
    business_key = models.CharField(
        max_length=255, help_text="The source's own key: filler order number, appointment id, visit number…"
    )
    source_updated_at = models.DateTimeField(help_text="The source's last-updated time of this version.")
    version = models.PositiveIntegerField(default=1)
    # How this version arrived: {"channel": "hl7v2", "message_id": 12, "control_id": "..."}.
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(fields=["source_system", "business_key"], name="entry_unique_source_key"),
            models.CheckConstraint(name="entry_business_key_not_blank", condition=~Q(business_key="")),
        ]
        indexes = [
            # Timeline: newest first with keyset pagination on (occurred_at, id).
            models.Index(
                models.F("person"),
                models.F("occurred_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="entry_person_timeline",
            ),
            models.Index(
                models.F("person"),
                models.F("category"),
                models.F("occurred_at").desc(nulls_last=True),
                name="entry_person_category",
            ),
            models.Index(fields=["person", "code"], name="entry_person_code"),
            models.Index(fields=["source_organisation"], name="entry_source_org"),
            models.Index(
                fields=["allocated_team"], name="entry_allocated_team", condition=~Q(allocated_team="")
            ),
            # "Restricted information exists" on every page: the few non-normal entries of a person, found
            # without reading the whole record.
            models.Index(
                fields=["person", "sensitivity"],
                name="entry_person_sensitive",
                condition=~Q(sensitivity="normal"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.summary or self.code_display}"
