"""Small canonical records for the pipeline tests: what a mapper would hand over for one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingestion.canonical import (
    AddressDraft,
    ItemDraft,
    LocalId,
    MappedRecord,
    MergeDraft,
    PatientDraft,
    PatientIdentity,
)
from records.models import EntryCategory

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def identity(nhs: str | None = None, mrn: str | None = None, system: str = "RBD") -> PatientIdentity:
    return PatientIdentity(nhs_number=nhs, local_ids=[LocalId(system, mrn, "MR")] if mrn else [])


def observation(
    key: str, value: float, *, at: datetime, nhs: str | None = None, mrn: str | None = None
) -> ItemDraft:
    subject = (
        {"identifier": {"system": NHS_SYSTEM, "value": nhs}}
        if nhs
        else {"identifier": {"system": "RBD", "value": mrn}}
    )
    return ItemDraft(
        category=EntryCategory.LAB_RESULT,
        resource={
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1000661000000107"}]},
            "subject": subject,
            "valueQuantity": {"value": value, "unit": "mmol/L"},
        },
        business_key=key,
        source_updated_at=at,
        summary=f"Sodium {value} mmol/L",
        occurred_at=at,
        code_system="http://snomed.info/sct",
        code="1000661000000107",
        code_display="Serum sodium level",
        status="final",
    )


def record(
    *,
    nhs: str | None = None,
    mrn: str | None = None,
    at: datetime = T0,
    items: list[ItemDraft] | None = None,
    family: str = "Smith",
    address: AddressDraft | None = None,
    **demographics,
) -> MappedRecord:
    return MappedRecord(
        patient=PatientDraft(
            identity=identity(nhs, mrn),
            source_updated_at=at,
            demographics={"family_name": family, **demographics},
            address=address,
        ),
        items=items if items is not None else [],
    )


def sodium(*, nhs=None, mrn=None, key="Observation|lab|1", value=140.0, at=T0, **kwargs) -> MappedRecord:
    return record(nhs=nhs, mrn=mrn, at=at, items=[observation(key, value, at=at, nhs=nhs, mrn=mrn)], **kwargs)


def merge(*, surviving: PatientIdentity, retired: PatientIdentity, at: datetime = T0) -> MappedRecord:
    return MappedRecord(
        patient=PatientDraft(identity=surviving, source_updated_at=at),
        merge=MergeDraft(surviving=surviving, retired=retired),
    )


__all__ = ["T0", "AddressDraft", "identity", "merge", "observation", "record", "sodium", "timedelta"]
