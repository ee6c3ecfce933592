from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from records.models import Entry, EntryCategory, Sensitivity
from records.services import EntryDraft, UpsertOutcome, record_entries_upsert, record_entry_upsert
from tests.records.factories import PersonFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def condition(person, key="c1", *, display="Diabetes mellitus type 2", at=NOW, **fields) -> EntryDraft:
    resource = {
        "resourceType": "Condition",
        "code": {"text": display},
        "subject": {
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": person.nhs_number}
        },
    }
    return EntryDraft(
        person_id=person.pk,
        category=EntryCategory.PROBLEM,
        resource=resource,
        business_key=key,
        source_updated_at=at,
        summary=display,
        **fields,
    )


def report(person, key, *, parent=None, at=NOW) -> EntryDraft:
    return EntryDraft(
        person_id=person.pk,
        category=EntryCategory.LAB_RESULT if parent else EntryCategory.LAB_REPORT,
        resource={"resourceType": "Observation" if parent else "DiagnosticReport", "status": "final"},
        business_key=key,
        source_updated_at=at,
        parent_business_key=parent,
    )


@pytest.fixture
def person():
    return PersonFactory()


@pytest.fixture
def source():
    return SourceSystemFactory()


class TestRecordEntriesUpsert:
    def test_stores_every_column_and_the_resource_as_sent(self, person, source):
        # Characters that COPY's text format must escape, and some that JSON must.
        display = 'Tab\there, "quoted", back\\slash, new\nline, £12.50, café'
        draft = condition(
            person,
            display=display,
            subtype="long-term",
            occurred_at=NOW - timedelta(days=3),
            ended_at=NOW - timedelta(days=1),
            review_due_on=date(2027, 1, 31),
            code_system="http://snomed.info/sct",
            code="44054006",
            code_display=display,
            status="active",
            sensitivity=Sensitivity.SAFEGUARDING,
            provenance={"channel": "fhir", "message_id": 12},
        )
        assert record_entry_upsert(source_system=source, draft=draft) == UpsertOutcome.CREATED
        entry = Entry.objects.get()
        assert entry.resource == draft.resource
        assert entry.resource_type == "Condition"
        assert (entry.summary, entry.code_display) == (display, display)
        assert (entry.occurred_at, entry.ended_at) == (draft.occurred_at, draft.ended_at)
        assert entry.review_due_on == date(2027, 1, 31)
        assert (entry.code_system, entry.code, entry.status) == (
            "http://snomed.info/sct",
            "44054006",
            "active",
        )
        assert entry.sensitivity == Sensitivity.SAFEGUARDING
        assert entry.provenance == {"channel": "fhir", "message_id": 12}
        assert (entry.source_system, entry.source_organisation_id) == (source, source.organisation_id)
        assert (entry.person, entry.version, entry.source_updated_at) == (person, 1, NOW)

    def test_a_resend_of_the_same_version_changes_nothing(self, person, source):
        record_entry_upsert(source_system=source, draft=condition(person))
        stored = Entry.objects.get()
        assert record_entry_upsert(source_system=source, draft=condition(person)) == UpsertOutcome.SKIPPED
        again = Entry.objects.get()
        assert (again.version, again.updated_at) == (1, stored.updated_at)

    def test_a_newer_version_replaces_the_stored_one(self, person, source):
        record_entry_upsert(source_system=source, draft=condition(person))
        newer = condition(person, display="Diabetes mellitus type 1", at=NOW + timedelta(hours=1))
        assert record_entry_upsert(source_system=source, draft=newer) == UpsertOutcome.UPDATED
        entry = Entry.objects.get()
        assert (entry.summary, entry.version) == ("Diabetes mellitus type 1", 2)

    def test_an_older_version_never_wins(self, person, source):
        record_entry_upsert(source_system=source, draft=condition(person, at=NOW))
        older = condition(person, display="Asthma", at=NOW - timedelta(hours=1))
        assert record_entry_upsert(source_system=source, draft=older) == UpsertOutcome.SKIPPED
        assert Entry.objects.get().summary == "Diabetes mellitus type 2"

    def test_a_changed_resource_at_the_same_time_is_taken(self, person, source):
        record_entry_upsert(source_system=source, draft=condition(person))
        changed = condition(person, display="Asthma")
        assert record_entry_upsert(source_system=source, draft=changed) == UpsertOutcome.UPDATED

    def test_the_newest_of_duplicate_keys_in_one_call_is_kept(self, person, source):
        drafts = [
            condition(person, display="Asthma", at=NOW - timedelta(hours=1)),
            condition(person, display="Epilepsy", at=NOW),
        ]
        record_entries_upsert(source_system=source, drafts=drafts)
        assert Entry.objects.get().summary == "Epilepsy"

    def test_results_link_to_a_report_sent_with_them_or_before(self, person, source):
        outcomes = record_entries_upsert(
            source_system=source, drafts=[report(person, "L1-1", parent="L1"), report(person, "L1")]
        )
        assert outcomes == {"L1": UpsertOutcome.CREATED, "L1-1": UpsertOutcome.CREATED}
        record_entries_upsert(source_system=source, drafts=[report(person, "L1-2", parent="L1")])
        parent = Entry.objects.get(business_key="L1")
        assert set(parent.children.values_list("business_key", flat=True)) == {"L1-1", "L1-2"}

    def test_a_result_whose_report_is_unknown_is_kept_without_one(self, person, source):
        record_entries_upsert(source_system=source, drafts=[report(person, "L9-1", parent="L9")])
        assert Entry.objects.get().parent is None

    def test_a_parent_key_names_a_report_of_the_same_source_only(self, person, source):
        other = SourceSystemFactory()
        record_entries_upsert(source_system=other, drafts=[report(person, "L1")])
        record_entries_upsert(source_system=source, drafts=[report(person, "L1-1", parent="L1")])
        assert Entry.objects.get(business_key="L1-1").parent is None

    def test_more_drafts_than_a_batch_are_all_written(self, person, source):
        drafts = [condition(person, key=f"c{n}") for n in range(7)]
        outcomes = record_entries_upsert(source_system=source, drafts=drafts, batch_size=3)
        assert set(outcomes.values()) == {UpsertOutcome.CREATED}
        assert Entry.objects.count() == 7

    def test_several_calls_in_one_transaction_do_not_see_each_others_drafts(self, person, source):
        with transaction.atomic():
            record_entries_upsert(source_system=source, drafts=[condition(person, key="a")])
            outcomes = record_entries_upsert(source_system=source, drafts=[condition(person, key="b")])
        assert outcomes == {"b": UpsertOutcome.CREATED}
        assert Entry.objects.count() == 2

    def test_a_call_after_a_rolled_back_one_still_works(self, person, source):
        def give_up():
            with transaction.atomic():
                record_entries_upsert(source_system=source, drafts=[condition(person, key="lost")])
                raise RuntimeError("the caller gave up")

        with pytest.raises(RuntimeError):
            give_up()
        record_entries_upsert(source_system=source, drafts=[condition(person, key="kept")])
        assert list(Entry.objects.values_list("business_key", flat=True)) == ["kept"]
