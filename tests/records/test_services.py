from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from records.models import Entry, EntryCategory, PersonAddress
from records.services import (
    EntryDraft,
    UpsertOutcome,
    person_address_set_current,
    person_update_demographics,
    record_entries_upsert,
    record_entry_upsert,
)
from tests.records.factories import PersonFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def observation(value: float, status: str = "final") -> dict:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "999791000000106", "display": "HbA1c"}]
        },
        "subject": {"reference": "Patient/1"},
        "valueQuantity": {"value": value, "unit": "mmol/mol"},
    }


def hba1c(
    person, value: float, *, at, key: str = "lab-1|hba1c", status: str = "final", **extra
) -> EntryDraft:
    return EntryDraft(
        person_id=person.pk,
        category=EntryCategory.LAB_RESULT,
        resource=observation(value, status),
        business_key=key,
        source_updated_at=at,
        summary=f"HbA1c {value} mmol/mol",
        code="999791000000106",
        status=status,
        **extra,
    )


class TestRecordEntryUpsert:
    def test_creates_an_entry_with_its_indexed_columns(self):
        person, source = PersonFactory(), SourceSystemFactory()

        outcome = record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW))

        entry = Entry.objects.get()
        assert outcome is UpsertOutcome.CREATED
        assert (entry.person, entry.code, entry.status, entry.resource_type) == (
            person,
            "999791000000106",
            "final",
            "Observation",
        )
        assert entry.source_organisation == source.organisation
        assert entry.resource["valueQuantity"]["value"] == 48

    def test_a_newer_version_from_the_same_source_replaces_the_stored_one(self):
        person, source = PersonFactory(), SourceSystemFactory()
        record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW, status="preliminary"))

        outcome = record_entry_upsert(
            source_system=source, draft=hba1c(person, 52, at=NOW + timedelta(hours=1))
        )

        entry = Entry.objects.get()
        assert outcome is UpsertOutcome.UPDATED
        assert (entry.resource["valueQuantity"]["value"], entry.status, entry.version) == (52, "final", 2)

    def test_an_older_version_arriving_late_never_replaces_the_newer_one(self):
        person, source = PersonFactory(), SourceSystemFactory()
        record_entry_upsert(source_system=source, draft=hba1c(person, 52, at=NOW))

        outcome = record_entry_upsert(
            source_system=source, draft=hba1c(person, 48, at=NOW - timedelta(hours=1))
        )

        entry = Entry.objects.get()
        assert outcome is UpsertOutcome.SKIPPED
        assert (entry.resource["valueQuantity"]["value"], entry.version) == (52, 1)

    def test_resending_the_same_version_changes_nothing(self):
        person, source = PersonFactory(), SourceSystemFactory()
        record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW))
        first_update = Entry.objects.get().updated_at

        outcome = record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW))

        assert outcome is UpsertOutcome.SKIPPED
        assert Entry.objects.get().updated_at == first_update

    def test_the_same_key_from_two_sources_makes_two_entries(self):
        person = PersonFactory()
        for source in (SourceSystemFactory(), SourceSystemFactory()):
            record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW))

        assert Entry.objects.filter(business_key="lab-1|hba1c").count() == 2

    def test_within_one_batch_the_newest_version_of_a_key_wins(self):
        person, source = PersonFactory(), SourceSystemFactory()

        record_entries_upsert(
            source_system=source,
            drafts=[hba1c(person, 52, at=NOW), hba1c(person, 48, at=NOW - timedelta(days=1))],
        )

        assert Entry.objects.get().resource["valueQuantity"]["value"] == 52

    def test_results_are_linked_to_their_report_in_one_call(self):
        person, source = PersonFactory(), SourceSystemFactory()
        report = EntryDraft(
            person_id=person.pk,
            category=EntryCategory.LAB_REPORT,
            business_key="lab-1",
            source_updated_at=NOW,
            summary="Diabetes monitoring",
            resource={"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Diabetes"}},
        )
        result = hba1c(person, 48, at=NOW, parent_business_key="lab-1")

        record_entries_upsert(source_system=source, drafts=[result, report])

        stored = Entry.objects.get(business_key="lab-1|hba1c")
        assert stored.parent == Entry.objects.get(business_key="lab-1")

    def test_a_blank_business_key_is_refused_by_the_database(self):
        from django.db import IntegrityError

        person, source = PersonFactory(), SourceSystemFactory()
        with pytest.raises(IntegrityError):
            record_entry_upsert(source_system=source, draft=hba1c(person, 48, at=NOW, key=""))


class TestPersonUpdateDemographics:
    def test_records_which_source_set_each_field(self):
        person, source = PersonFactory(family_name="Smith"), SourceSystemFactory()

        changed = person_update_demographics(
            person=person, source_system=source, values={"family_name": "Jones"}, source_updated_at=NOW
        )

        person.refresh_from_db()
        assert changed == ["family_name"]
        assert person.family_name == "Jones"
        assert person.field_provenance["family_name"]["source"] == source.pk

    def test_an_older_update_does_not_overwrite_a_field_set_more_recently(self):
        person, pas, gp = PersonFactory(), SourceSystemFactory(), SourceSystemFactory()
        person_update_demographics(
            person=person, source_system=pas, values={"phone_mobile": "07700 900123"}, source_updated_at=NOW
        )

        person_update_demographics(
            person=person,
            source_system=gp,
            values={"phone_mobile": "07700 900999", "title": "Mrs"},
            source_updated_at=NOW - timedelta(days=2),
        )

        person.refresh_from_db()
        assert person.phone_mobile == "07700 900123"
        assert person.title == "Mrs"  # a field nobody newer had set is still taken

    def test_times_in_different_zones_compare_by_instant(self):
        from datetime import timezone as tz

        person, source = PersonFactory(), SourceSystemFactory()
        later_in_utc = NOW.astimezone(UTC)
        earlier_in_plus_five = (NOW - timedelta(hours=1)).astimezone(tz(timedelta(hours=5)))
        person_update_demographics(
            person=person,
            source_system=source,
            values={"email": "new@example.org"},
            source_updated_at=later_in_utc,
        )

        person_update_demographics(
            person=person,
            source_system=source,
            values={"email": "old@example.org"},
            source_updated_at=earlier_in_plus_five,
        )

        person.refresh_from_db()
        assert person.email == "new@example.org"

    def test_an_invalid_nhs_number_is_never_stored(self):
        person, source = PersonFactory(nhs_number=None), SourceSystemFactory()

        with pytest.raises(ValueError, match="not a valid NHS number"):
            person_update_demographics(
                person=person,
                source_system=source,
                values={"nhs_number": "9990000019"},
                source_updated_at=NOW,
            )

        person.refresh_from_db()
        assert person.nhs_number is None

    def test_an_nhs_number_with_spaces_is_stored_as_ten_digits(self):
        person, source = PersonFactory(nhs_number=None), SourceSystemFactory()

        person_update_demographics(
            person=person, source_system=source, values={"nhs_number": "999 000 0018"}, source_updated_at=NOW
        )

        person.refresh_from_db()
        assert person.nhs_number == "9990000018"
        assert person.nhs_number_display == "999 000 0018"


class TestPersonAddressSetCurrent:
    def test_a_move_closes_the_old_address_and_keeps_it_as_history(self):
        person = PersonFactory()
        old = person_address_set_current(
            person=person,
            source_system=None,
            lines="1 High West Street",
            town="Dorchester",
            postcode="dt1 1ud",
        )

        new = person_address_set_current(
            person=person, source_system=None, lines="4 Esplanade", town="Weymouth", postcode="DT4 8DN"
        )

        old.refresh_from_db()
        assert person.current_address == new
        assert old.period_end is not None
        assert old.postcode == "DT1 1UD"
        assert PersonAddress.objects.filter(person=person).count() == 2

    def test_the_same_address_again_is_not_a_move(self):
        person = PersonFactory()
        for _ in range(2):
            person_address_set_current(
                person=person,
                source_system=None,
                lines="1 High West Street",
                town="Dorchester",
                postcode="DT1 1UD",
            )

        assert PersonAddress.objects.filter(person=person).count() == 1
