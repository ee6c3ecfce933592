"""Shared by the ingestion tests: the fixture corpus and the checks every mapped record must pass."""

from datetime import UTC, datetime
from pathlib import Path

from ingestion.canonical import MappedRecord
from records.fhir import validate_resource
from records.models.entry import CATEGORY_RESOURCE_TYPES
from tests.corpus import fixtures_dir

FIXTURES = fixtures_dir() / "fhir-r4"
RECEIVED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def content_type_of(path: Path) -> str:
    return "application/fhir+xml" if path.suffix == ".xml" else "application/fhir+json"


def patient_reference_of(resource: dict) -> dict:
    if resource["resourceType"] == "Appointment":
        actors = [p["actor"] for p in resource["participant"] if p.get("actor", {}).get("type") == "Patient"]
        return actors[0]
    return resource[
        "patient" if resource["resourceType"] in ("AllergyIntolerance", "RelatedPerson") else "subject"
    ]


def assert_valid_records(records: list[MappedRecord]) -> None:
    """Every resource is valid FHIR, names its patient by identifier, and has the columns filled."""
    keys = []
    for record in records:
        assert record.patient is not None
        assert not record.patient.identity.is_empty
        assert record.patient.source_updated_at.tzinfo is not None
        if record.patient.resource is not None:
            validate_resource(record.patient.resource)
        for item in record.items:
            validate_resource(item.resource)
            assert item.resource["resourceType"] in CATEGORY_RESOURCE_TYPES[item.category]
            assert item.business_key.startswith(item.resource["resourceType"])
            assert len(item.business_key) <= 255
            assert item.summary
            assert len(item.summary) <= 300
            assert item.source_updated_at.tzinfo is not None
            assert item.occurred_at is None or item.occurred_at.tzinfo is not None
            reference = patient_reference_of(item.resource)
            assert "reference" not in reference
            identity = record.patient.identity
            if identity.nhs_number:
                assert reference["identifier"] == {"system": NHS_NUMBER_SYSTEM, "value": identity.nhs_number}
            else:
                assert reference["identifier"]["value"] == identity.local_ids[0].value
            keys.append(item.business_key)
    assert len(keys) == len(set(keys)), "business keys must be unique within a body"
