from datetime import timedelta

import pytest
from django.utils import timezone

from records import tasks
from records.models import Entry, EntryCategory
from records.services import EntryDraft
from tests.records.factories import PersonFactory, SourceSystemFactory


def _draft(person_id: int, key: str) -> EntryDraft:
    return EntryDraft(
        person_id=person_id,
        category=EntryCategory.ALLERGY,
        business_key=key,
        source_updated_at=timezone.now() - timedelta(minutes=5),
        summary="Amoxicillin allergy",
        code_system="http://snomed.info/sct",
        code="372687004",
        code_display="Amoxicillin",
        resource={
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "372687004"}]},
        },
    )


@pytest.mark.services
def test_a_real_worker_on_redis_writes_the_entries_it_is_sent(celery_worker):
    person = PersonFactory()
    source = SourceSystemFactory()
    drafts = [tasks.draft_to_json(_draft(person.pk, f"allergy-{n}")) for n in range(3)]

    result = tasks.record_entries_upsert.delay(source.pk, drafts)

    assert result.get(timeout=30) == {f"allergy-{n}": "created" for n in range(3)}
    assert set(Entry.objects.filter(person=person).values_list("business_key", flat=True)) == {
        "allergy-0",
        "allergy-1",
        "allergy-2",
    }
    # Sent again, the worker changes nothing.
    assert tasks.record_entries_upsert.delay(source.pk, drafts).get(timeout=30) == {
        f"allergy-{n}": "skipped" for n in range(3)
    }
