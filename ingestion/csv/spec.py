"""The social care CSV extract: its columns, as data. docs/social-care-csv.md is this table in prose.

One row is one care package (service) of one person; a person with two packages has two rows, and
the person's columns repeat. Column order is free, names are matched ignoring case and surrounding
spaces, and unknown columns are reported but do not stop the file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    # In the header: a file without it is refused. A required column may still be blank if `blank_ok`.
    required: bool = False
    blank_ok: bool = True
    format: str = "text"
    example: str = ""


DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY")

COLUMNS: tuple[Column, ...] = (
    Column(
        "la_person_id",
        "The council's own person (client) id; with the council it names the person.",
        required=True,
        blank_ok=False,
        example="100234",
    ),
    Column(
        "nhs_number",
        "NHS number, 10 digits (spaces allowed); blank if unknown. A number failing the "
        "check digit is reported and not used.",
        required=True,
        format="NHS number",
        example="9990000018",
    ),
    Column("family_name", "Family name.", required=True, blank_ok=False, example="Smith"),
    Column("given_names", "Given names, space-separated.", required=True, example="Ann Marie"),
    Column(
        "date_of_birth", "Date of birth.", required=True, blank_ok=False, format="date", example="1941-03-07"
    ),
    Column("gender", "male, female, other or unknown.", format="code", example="female"),
    Column("gp_practice_code", "ODS code of the registered GP practice.", example="J81005"),
    Column(
        "package_id",
        "The council's id of the package; strongly recommended, as it keeps the package's "
        "key stable when its type or start date is corrected.",
        example="PK-5521",
    ),
    Column(
        "package_type",
        "Type of care package; see the package types below.",
        required=True,
        blank_ok=False,
        format="package type",
        example="home care",
    ),
    Column(
        "package_start",
        "First day of the package.",
        required=True,
        blank_ok=False,
        format="date",
        example="2026-01-12",
    ),
    Column("package_end", "Last day of the package; blank while it goes on.", format="date"),
    Column(
        "support_plan_summary",
        "The care and support plan in a few sentences.",
        example="Two calls a day for personal care and meals.",
    ),
    Column("allocated_worker", "Name of the allocated social worker or care manager.", example="Jo Bloggs"),
    Column("team", "Team holding the case.", example="North Dorset Adult Social Care"),
    Column(
        "review_date", "Date of the next planned review of the plan.", format="date", example="2026-07-12"
    ),
    Column("review_type", "planned, annual or unplanned.", format="code", example="annual"),
    Column("carer_name", "An unpaid carer (family or friend).", example="Peter Smith"),
    Column("carer_relationship", "The carer's relationship to the person.", example="son"),
    Column("carer_phone", "The carer's telephone number.", example="07700 900123"),
    Column("provider_name", "The organisation delivering the package.", example="Wessex Home Care Ltd"),
    Column("provider_phone", "The provider's telephone number.", example="01305 000000"),
    Column(
        "safeguarding_flag",
        "Y if a safeguarding concern or enquiry is open, N or blank if not.",
        format="Y/N",
        example="N",
    ),
    Column(
        "last_updated",
        "When the council's record of this row last changed; a later extract wins over an "
        "earlier one row by row.",
        required=True,
        blank_ok=False,
        format="date-time",
        example="2026-03-01T09:30:00Z",
    ),
)
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)

# Care package types (DOMAIN.md §8): slug → (display, spellings accepted in the extract).
PACKAGE_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "home-care": ("Home care", ("home care", "domiciliary care", "homecare")),
    "reablement": ("Reablement", ("reablement", "st max", "short term support to maximise independence")),
    "residential-care": ("Residential care", ("residential care", "residential")),
    "nursing-care": ("Nursing care", ("nursing care", "nursing")),
    "day-services": ("Day services", ("day services", "day service", "day care")),
    "direct-payment": ("Direct payment", ("direct payment", "direct payments")),
    "equipment": ("Equipment and adaptations", ("equipment", "equipment and adaptations", "adaptations")),
    "shared-lives": ("Shared Lives", ("shared lives",)),
}
# Our own code system for the package types until the Client Level Data service types are published
# as one; CarePlan.category carries it so FHIR readers can filter on it too.
PACKAGE_TYPE_SYSTEM = "urn:dcr:CodeSystem:social-care-package-type"

REVIEW_TYPES = {"planned": "Planned review", "annual": "Annual review", "unplanned": "Unplanned review"}
YES = frozenset({"y", "yes", "true", "1"})
NO = frozenset({"n", "no", "false", "0", ""})


def package_type_slug(text: str) -> str | None:
    wanted = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    for slug, (display, spellings) in PACKAGE_TYPES.items():
        if wanted in spellings or wanted == slug.replace("-", " ") or wanted == display.lower():
            return slug
    return None
