"""Matching: a valid NHS number first, then the source's own patient number; otherwise held, never guessed."""

import pytest

from ingestion.models import InboundMessage
from ingestion.services.apply import mapped_record_apply
from records.models import Entry, LocalIdentifier, Person
from tests.ingestion.pipeline.records import T0, AddressDraft, sodium, timedelta
from tests.records.factories import LocalIdentifierFactory, PersonFactory

pytestmark = pytest.mark.django_db

VALID = "9990000018"
OTHER_VALID = "9990000026"
BAD_CHECK_DIGIT = "9990000017"


class TestMatching:
    def test_a_valid_nhs_number_finds_the_person(self, hl7_source):
        person = PersonFactory(nhs_number=VALID)

        result = mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, mrn="M1"))

        assert result.status == "applied"
        assert result.person_id == person.pk
        assert Entry.objects.get().person == person
        assert LocalIdentifier.objects.get(value="M1").person == person

    def test_the_source_patient_number_finds_the_person_when_there_is_no_nhs_number(self, hl7_source):
        person = LocalIdentifierFactory(system="RBD", value="M1").person

        result = mapped_record_apply(source_system=hl7_source, record=sodium(mrn="M1"))

        assert result.person_id == person.pk
        assert Person.objects.count() == 1

    def test_an_unknown_valid_nhs_number_creates_the_person_with_demographics(self, hl7_source):
        record = sodium(nhs=VALID, mrn="M1", family="Jones", given_names="Ann")
        record.patient.address = AddressDraft(lines="1 High Street", town="Dorchester", postcode="dt1 1aa")

        result = mapped_record_apply(source_system=hl7_source, record=record)

        person = Person.objects.get()
        assert (result.person_id, result.person_created) == (person.pk, True)
        assert (person.nhs_number, person.family_name, person.given_names) == (VALID, "Jones", "Ann")
        assert person.current_address.postcode == "DT1 1AA"
        assert list(person.local_identifiers.values_list("system", "value")) == [("RBD", "M1")]

    def test_an_invalid_nhs_number_is_never_stored_and_the_patient_number_matches(self, hl7_source):
        person = LocalIdentifierFactory(system="RBD", value="M1", person__nhs_number=None).person

        result = mapped_record_apply(source_system=hl7_source, record=sodium(nhs=BAD_CHECK_DIGIT, mrn="M1"))

        assert result.person_id == person.pk
        person.refresh_from_db()
        assert person.nhs_number is None
        assert not Person.objects.filter(nhs_number=BAD_CHECK_DIGIT).exists()
        assert any("not a valid NHS number" in w for w in result.warnings)

    def test_neither_a_valid_nhs_number_nor_a_patient_number_is_held_not_guessed(self, hl7_source):
        PersonFactory(nhs_number=VALID, family_name="Smith")

        result = mapped_record_apply(source_system=hl7_source, record=sodium(nhs=BAD_CHECK_DIGIT))

        assert result.status == "held"
        assert "cannot be matched" in result.reason
        assert not Entry.objects.exists()
        assert Person.objects.count() == 1

    def test_a_patient_number_first_seen_with_an_nhs_number_later_gets_the_number(self, hl7_source):
        first = mapped_record_apply(source_system=hl7_source, record=sodium(mrn="M1"))
        second = mapped_record_apply(
            source_system=hl7_source, record=sodium(nhs=VALID, mrn="M1", key="k2", at=T0 + timedelta(hours=1))
        )

        assert first.person_id == second.person_id
        assert Person.objects.get().nhs_number == VALID

    def test_an_nhs_number_and_a_patient_number_filed_under_different_numbers_are_held(self, hl7_source):
        LocalIdentifierFactory(system="RBD", value="M1", person__nhs_number=OTHER_VALID)
        PersonFactory(nhs_number=VALID)

        result = mapped_record_apply(source_system=hl7_source, record=sodium(nhs=VALID, mrn="M1"))

        assert result.status == "held"
        assert OTHER_VALID in result.reason
        assert not Entry.objects.exists()

    def test_a_source_with_a_namespace_trusts_only_its_own_numbers(self, hl7_source):
        hl7_source.local_identifier_system = "RBD"
        hl7_source.save()
        LocalIdentifierFactory(system="OTHER", value="M1")

        record = sodium(mrn="M1")
        record.patient.identity.local_ids[0] = type(record.patient.identity.local_ids[0])("OTHER", "M1")
        result = mapped_record_apply(source_system=hl7_source, record=record)

        assert result.status == "held"

    def test_two_records_of_one_batch_about_a_new_patient_make_one_person(self, hl7_source):
        from ingestion.services.apply import Unit, apply_units

        units = [
            Unit(hl7_source, sodium(nhs=VALID, mrn="M1", key="a")),
            Unit(hl7_source, sodium(mrn="M1", key="b")),
            Unit(hl7_source, sodium(nhs=VALID, key="c")),
        ]
        apply_units(units)

        assert Person.objects.count() == 1
        assert {u.result.person_id for u in units} == {Person.objects.get().pk}
        assert Entry.objects.count() == 3


class TestHeldReview:
    def _held_message(self, fhir_source):
        from ingestion.services.ledger import message_receive

        body = (
            b'{"resourceType":"Patient","id":"p1","name":[{"family":"Nobody"}],'
            b'"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000017"}]}'
        )
        return message_receive(
            channel="file", payload=body, format="fhir-json", source_system=fhir_source, enqueue=False
        )

    def test_a_held_message_filed_under_the_chosen_person_on_reprocessing(self, fhir_source, admin_user):
        from ingestion.services.apply import message_process
        from ingestion.services.review import message_resolve_match

        message = message_process(self._held_message(fhir_source).pk)
        assert message.status == InboundMessage.Status.HELD
        person = PersonFactory(nhs_number=VALID)

        message = message_resolve_match(message=message, user=admin_user, person=person, reason="phoned ward")

        assert message.status == InboundMessage.Status.APPLIED
        assert message.outcome["people"] == [person.pk]
        assert message.actions.get().action == "resolve_match"
