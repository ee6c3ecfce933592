"""What every source is mapped into before it touches the database: one shape for HL7 v2, FHIR and CSV.

The parsers in ingestion/hl7v2, ingestion/fhir and ingestion/csv are pure: text in, these dataclasses out.
The pipeline (ingestion/services.py) matches the patient to a Person, applies the demographics and
upserts the items with records.services, whatever channel they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from records.models import Sensitivity


@dataclass(frozen=True)
class LocalId:
    """A source's own patient number: PID-3 (type MR or PI) or a FHIR identifier other than the NHS number."""

    system: str
    value: str
    type_code: str = ""


@dataclass
class PatientIdentity:
    """How a message names its patient. The NHS number is as sent: the pipeline validates it."""

    nhs_number: str | None = None
    nhs_number_status: str = ""
    local_ids: list[LocalId] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.nhs_number and not self.local_ids


@dataclass
class AddressDraft:
    lines: str
    town: str = ""
    county: str = ""
    postcode: str = ""


@dataclass
class PatientDraft:
    """Demographics as one source holds them, stamped with that source's time."""

    identity: PatientIdentity
    source_updated_at: datetime
    # Keys from records.services.PERSON_FIELDS, except nhs_number and registered_practice_id:
    # the practice is named by its ODS code in `registered_practice_ods`.
    demographics: dict[str, Any] = field(default_factory=dict)
    registered_practice_ods: str = ""
    address: AddressDraft | None = None
    # The FHIR Patient resource as received or built, kept for round trips.
    resource: dict[str, Any] | None = None


@dataclass
class ItemDraft:
    """One entry of the record, not yet tied to a Person. Keyed by the source's business key."""

    category: str
    resource: dict[str, Any]
    business_key: str
    source_updated_at: datetime
    summary: str = ""
    subtype: str = ""
    occurred_at: datetime | None = None
    ended_at: datetime | None = None
    review_due_on: date | None = None
    code_system: str = ""
    code: str = ""
    code_display: str = ""
    status: str = ""
    # The social care team holding the case: a care relationship for that team's members.
    allocated_team: str = ""
    sensitivity: str = Sensitivity.NORMAL
    parent_business_key: str | None = None


@dataclass
class MergeDraft:
    """ADT A40/A39/A34: the retired identity's records move to the surviving one."""

    surviving: PatientIdentity
    retired: PatientIdentity


@dataclass
class MappedRecord:
    """What one message (or one patient of a bundle, or one person's CSV rows) became."""

    patient: PatientDraft | None
    items: list[ItemDraft] = field(default_factory=list)
    merge: MergeDraft | None = None
    # Items to withdraw (e.g. A11 cancel admit): business keys whose entries become entered-in-error.
    cancelled_keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class MappingError(ValueError):
    """The input cannot be mapped; `location` names the segment/field or FHIR element at fault."""

    def __init__(self, message: str, location: str = ""):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)
