"""Every public HL7 v2 sample through `manage.py ingest`: stored as what it says, or refused with a reason."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from ingestion.models import InboundMessage, MergeRecord
from records.fhir import validate_resource
from records.models import Entry, EntryCategory, SourceSystem
from tests.corpus import fixtures_dir
from tests.records.factories import SourceSystemFactory

pytestmark = pytest.mark.django_db

HL7 = fixtures_dir() / "hl7v2"
FILES = sorted(p for p in HL7.rglob("*") if p.is_file())


def ingest(*args: str) -> dict:
    out = StringIO()
    call_command("ingest", *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


@pytest.fixture
def summaries(hospital):
    """Each file from a sender of its own, as each sample comes from a different system."""
    result = {}
    for number, path in enumerate(FILES):
        source = SourceSystemFactory(
            organisation=hospital,
            code=f"sample-{number}",
            kind=SourceSystem.Kind.HL7V2,
            local_identifier_system="",
        )
        result[path.name] = ingest(str(path), "--source", source.code)
    return result


def test_every_message_is_stored_once_and_applied_or_refused_with_a_reason(summaries):
    assert len(FILES) == 40
    assert sum(s["messages"] for s in summaries.values()) == 1052
    assert all(s["waiting"] == 0 for s in summaries.values())
    assert InboundMessage.objects.count() == 1052
    assert not InboundMessage.objects.filter(status__in=["received", "processing"]).exists()
    for message in InboundMessage.objects.filter(status__in=["failed", "held"]):
        assert message.error, message
        assert bytes(message.payload).startswith((b"MSH", b"\xef\xbb\xbfMSH"))

    # Supported types are stored, as valid FHIR, in their categories.
    by_type = dict(
        InboundMessage.objects.filter(status="applied").values_list("message_type").annotate(n=Count("id"))
    )
    assert by_type.get("ORU^R01", 0) >= 615
    assert by_type.get("ADT^A01", 0) >= 400
    categories = dict(Entry.objects.values_list("category").annotate(n=Count("id")))
    assert categories[EntryCategory.LAB_RESULT] > 3000
    reports = categories.get(EntryCategory.LAB_REPORT, 0) + categories.get(EntryCategory.IMAGING_REPORT, 0)
    assert reports >= 500
    assert categories[EntryCategory.ENCOUNTER] >= 400
    for entry in Entry.objects.order_by("?")[:500]:
        validate_resource(entry.resource)
    # Every result hangs off its report.
    assert not Entry.objects.filter(category=EntryCategory.LAB_RESULT, parent__isnull=True).exists()

    # The merges in the corpus are applied, or held with the reason.
    a40 = InboundMessage.objects.get(filename="ADT-A40-01.hl7")
    assert a40.status == "applied"
    a34 = InboundMessage.objects.get(message_type="ADT^A34")
    if a34.status == "held":
        assert "two different NHS numbers" in a34.error
    else:
        assert MergeRecord.objects.filter(message=a34).exists()


def test_a_file_sent_again_is_all_duplicates_and_changes_nothing(hl7_source):
    path = HL7 / "pipehat" / "sample-v2.5.1-oru-r01-1.hl7"
    first = ingest(str(path), "--source", hl7_source.code)
    entries = list(Entry.objects.values_list("id", "version"))

    again = ingest(str(path), "--source", hl7_source.code)

    assert first["accepted"] == 1
    assert (again["duplicates"], again["accepted"]) == (1, 0)
    assert list(Entry.objects.values_list("id", "version")) == entries
