"""Order, duplicates, test mode, opt-outs and merges: the rules every channel shares."""

import json

import pytest

from consent.models import OptOut
from ingestion.models import InboundMessage, MergeRecord
from ingestion.services.apply import mapped_record_apply, message_process
from ingestion.services.ledger import message_receive
from ingestion.services.merges import merge_undo
from records import access
from records.models import Entry, LocalIdentifier, Person, SourceSystem
from tests.consent.factories import OptOutFactory
from tests.ingestion.pipeline.records import T0, identity, merge, sodium, timedelta
from tests.records.factories import EntryFactory, LocalIdentifierFactory, MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db

VALID = "9990000018"
OTHER_VALID = "9990000026"


class TestOrderAndRepeats:
    def test_the_same_key_under_a_new_message_updates_the_same_entry(self, hl7_source):
        mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, value=140))
        result = mapped_record_apply(
            source_system=hl7_source, record=sodium(nhs=VALID, value=150, at=T0 + timedelta(hours=1))
        )

        entry = Entry.objects.get()
        assert result.entries["updated"] == 1
        assert entry.resource["valueQuantity"]["value"] == 150
        assert entry.version == 2

    def test_an_older_update_never_overwrites_a_newer_one(self, hl7_source):
        mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, value=150, at=T0))
        result = mapped_record_apply(
            source_system=hl7_source, record=sodium(nhs=VALID, value=99, at=T0 - timedelta(hours=1))
        )

        assert result.entries["skipped"] == 1
        assert Entry.objects.get().resource["valueQuantity"]["value"] == 150

    def test_older_demographics_never_overwrite_newer_ones(self, hl7_source):
        mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, family="Newer", at=T0))
        mapped_record_apply(
            source_system=hl7_source, record=sodium(nhs=VALID, family="Older", at=T0 - timedelta(days=1))
        )

        assert Person.objects.get().family_name == "Newer"

    def test_a_repeated_body_is_a_duplicate_and_changes_nothing(self, fhir_source):
        body = _patient_body(VALID)
        first = message_receive(channel="http", payload=body, format="fhir-json", source_system=fhir_source)
        message_process(first.pk)
        again = message_receive(channel="http", payload=body, format="fhir-json", source_system=fhir_source)

        assert again.status == InboundMessage.Status.DUPLICATE
        assert again.duplicate_of == first
        assert message_process(again.pk).status == InboundMessage.Status.DUPLICATE
        assert Person.objects.count() == 1

    def test_a_repeated_control_id_from_another_source_is_not_a_duplicate(self, hl7_source, fhir_source):
        one = message_receive(
            channel="mllp", payload=b"x", format="hl7v2", source_system=hl7_source, control_id="C1"
        )
        other = message_receive(
            channel="mllp", payload=b"x", format="hl7v2", source_system=fhir_source, control_id="C1"
        )
        again = message_receive(
            channel="mllp", payload=b"y", format="hl7v2", source_system=hl7_source, control_id="C1"
        )

        assert (one.status, other.status, again.status) == ("received", "received", "duplicate")


def _patient_body(nhs: str, family: str = "Smith") -> bytes:
    return json.dumps(
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": family}],
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
        }
    ).encode()


class TestTestMode:
    def test_a_test_source_is_processed_but_nothing_of_it_is_visible_until_live(self, hl7_source, hospital):
        hl7_source.mode = SourceSystem.Mode.TEST
        hl7_source.save()
        person = PersonFactory(nhs_number=VALID, family_name="Before")
        membership = MembershipFactory(organisation=hospital)
        actor = access.Actor(user=membership.user, membership=membership)

        result = mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, family="Test feed"))

        person.refresh_from_db()
        assert result.status == "applied"
        assert Entry.objects.filter(person=person).count() == 1
        assert person.family_name == "Before"
        assert not access.entry_list_visible_to(actor=actor, person=person).exists()

        hl7_source.mode = SourceSystem.Mode.LIVE
        hl7_source.save()
        actor = access.Actor(user=membership.user, membership=membership)
        assert access.entry_list_visible_to(actor=actor, person=person).count() == 1


class TestOptOut:
    def test_data_about_a_person_who_opted_out_is_dropped_and_counted(self, fhir_source):
        OptOutFactory(nhs_number=VALID, status=OptOut.Status.APPROVED)
        message = message_receive(
            channel="http", payload=_patient_body(VALID), format="fhir-json", source_system=fhir_source
        )

        message = message_process(message.pk)

        assert message.status == InboundMessage.Status.DROPPED
        assert message.outcome["dropped"] == 1
        assert not Person.objects.exists()

    def test_a_known_person_matched_by_patient_number_who_opted_out_is_dropped(self, hl7_source):
        LocalIdentifierFactory(system="RBD", value="M1", person__nhs_number=VALID)
        OptOutFactory(nhs_number=VALID, status=OptOut.Status.APPROVED)

        result = mapped_record_apply(source_system=hl7_source, record=sodium(mrn="M1"))

        assert result.status == "dropped"
        assert not Entry.objects.exists()


class TestMerges:
    def test_a_merge_moves_everything_to_the_survivor_and_can_be_undone(self, hl7_source):
        survivor = LocalIdentifierFactory(system="RBD", value="NEW", person__nhs_number=None).person
        retired = LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=VALID).person
        old_entry = EntryFactory(person=retired, source_system=hl7_source)

        result = mapped_record_apply(
            source_system=hl7_source,
            record=merge(surviving=identity(mrn="NEW"), retired=identity(mrn="OLD")),
        )

        record = MergeRecord.objects.get()
        assert result.merge_id == record.pk
        old_entry.refresh_from_db()
        survivor.refresh_from_db()
        assert old_entry.person == survivor
        assert survivor.nhs_number == VALID
        assert LocalIdentifier.objects.get(value="OLD").person == survivor
        after = mapped_record_apply(source_system=hl7_source, record=sodium(mrn="OLD", key="after"))
        assert after.person_id == survivor.pk

        merge_undo(merge=record, reason="wrong patient merged")

        old_entry.refresh_from_db()
        survivor.refresh_from_db()
        retired.refresh_from_db()
        assert old_entry.person == retired
        assert (retired.nhs_number, survivor.nhs_number) == (VALID, None)
        assert LocalIdentifier.objects.get(value="OLD").person == retired
        assert MergeRecord.objects.get().status == MergeRecord.Status.UNDONE

    def test_a_merge_joining_two_different_nhs_numbers_is_held_and_not_applied(self, hl7_source):
        LocalIdentifierFactory(system="RBD", value="NEW", person__nhs_number=VALID)
        retired = LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=OTHER_VALID).person
        entry = EntryFactory(person=retired, source_system=hl7_source)

        result = mapped_record_apply(
            source_system=hl7_source,
            record=merge(surviving=identity(mrn="NEW"), retired=identity(mrn="OLD")),
        )

        assert result.status == "held"
        assert "two different NHS numbers" in result.reason
        entry.refresh_from_db()
        assert entry.person == retired
        assert not MergeRecord.objects.exists()

    def test_a_merge_in_one_batch_applies_to_the_messages_after_it(self, hl7_source):
        from ingestion.services.apply import Unit, apply_units

        LocalIdentifierFactory(system="RBD", value="NEW", person__nhs_number=VALID)
        LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=None)
        units = [
            Unit(hl7_source, sodium(mrn="OLD", key="before")),
            Unit(hl7_source, merge(surviving=identity(mrn="NEW"), retired=identity(mrn="OLD"))),
            Unit(hl7_source, sodium(mrn="OLD", key="after")),
        ]
        apply_units(units)

        survivor = Person.objects.get(nhs_number=VALID)
        assert set(Entry.objects.values_list("person_id", flat=True)) == {survivor.pk}


class TestMergeEdges:
    def test_a_survivor_new_to_the_record_takes_over_the_retired_persons_identity(self, hl7_source):
        retired = LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=None).person

        result = mapped_record_apply(
            source_system=hl7_source,
            record=merge(surviving=identity(nhs=VALID, mrn="NEW"), retired=identity(mrn="OLD")),
        )

        retired.refresh_from_db()
        assert (result.status, result.person_id) == ("applied", retired.pk)
        assert retired.nhs_number == VALID
        assert set(retired.local_identifiers.values_list("value", flat=True)) == {"OLD", "NEW"}
        assert Person.objects.count() == 1

    def test_a_new_survivor_with_another_nhs_number_is_held(self, hl7_source):
        LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=OTHER_VALID)

        result = mapped_record_apply(
            source_system=hl7_source,
            record=merge(surviving=identity(nhs=VALID, mrn="NEW"), retired=identity(mrn="OLD")),
        )

        assert result.status == "held"
        assert "two different NHS numbers" in result.reason
        assert Person.objects.count() == 1

    def test_a_merge_from_a_test_source_is_not_applied(self, hl7_source):
        hl7_source.mode = SourceSystem.Mode.TEST
        hl7_source.save()
        LocalIdentifierFactory(system="RBD", value="NEW", person__nhs_number=None)
        retired = LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=VALID).person

        result = mapped_record_apply(
            source_system=hl7_source, record=merge(surviving=identity(mrn="NEW"), retired=identity(mrn="OLD"))
        )

        assert result.status == "applied"
        assert "test mode: the merge was not applied" in result.warnings
        assert LocalIdentifier.objects.get(value="OLD").person == retired
        assert not MergeRecord.objects.exists()


class TestAllOrNothing:
    def test_a_transaction_bundle_with_a_patient_that_cannot_be_matched_stores_nothing(self, fhir_source):
        def patient(pid, nhs):
            return {
                "fullUrl": f"urn:uuid:{pid}",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Smith"}],
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
                },
                "request": {"method": "POST", "url": "Patient"},
            }

        body = json.dumps(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    patient("11111111-1111-1111-1111-111111111111", VALID),
                    patient("22222222-2222-2222-2222-222222222222", "9990000017"),
                ],
            }
        ).encode()
        message = message_receive(channel="http", payload=body, format="fhir-json", source_system=fhir_source)

        message = message_process(message.pk)

        assert message.status == InboundMessage.Status.HELD
        assert "all or nothing" in message.error
        assert not Person.objects.exists()
