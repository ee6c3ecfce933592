"""Shared by the HL7 v2 tests: the corpus, and the checks every mapped record must pass."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.canonical import MappedRecord
from records.fhir import validate_resource
from records.models.entry import CATEGORY_RESOURCE_TYPES
from tests.corpus import fixtures_dir

HL7_FIXTURES = fixtures_dir() / "hl7v2"
RECEIVED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def message(*segments: str) -> bytes:
    """A message from segment strings, CR-terminated as on the wire."""
    return ("\r".join(segments) + "\r").encode("utf-8")


def assert_valid_record(record: MappedRecord) -> None:
    """Every resource is valid FHIR R4 in a category that holds its type, with the columns filled."""
    if record.patient is not None:
        assert record.patient.source_updated_at.tzinfo is not None
        if record.patient.resource is not None:
            validate_resource(record.patient.resource)
    keys = [item.business_key for item in record.items]
    assert len(keys) == len(set(keys)), "business keys are unique within a message"
    for item in record.items:
        validate_resource(item.resource)
        assert item.resource["resourceType"] in CATEGORY_RESOURCE_TYPES[item.category]
        assert item.business_key.startswith(item.resource["resourceType"])
        assert 0 < len(item.business_key) <= 255
        assert item.summary
        assert len(item.summary) <= 300
        assert len(item.subtype) <= 40
        assert len(item.status) <= 40
        assert item.source_updated_at.tzinfo is not None
        assert item.occurred_at is None or item.occurred_at.tzinfo is not None
        assert item.ended_at is None or item.ended_at.tzinfo is not None
        if item.parent_business_key is not None:
            assert item.parent_business_key in keys
