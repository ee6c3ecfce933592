"""After approval a later HL7 v2 or FHIR message about the person stores nothing; after withdrawal it does."""

from datetime import date

import pytest

from consent.services import OptOutDetails, opt_out_approve, opt_out_register, opt_out_withdraw
from ingestion.models import InboundMessage
from ingestion.services.apply import message_process
from ingestion.services.ledger import message_receive
from records.models import Entry, Person, SourceSystem
from tests.records.factories import OrganisationFactory, SourceSystemFactory, UserFactory

pytestmark = pytest.mark.django_db

NHS_NUMBER = "9990000018"


@pytest.fixture
def hospital():
    return OrganisationFactory(ods_code="RBD", name="Dorset County Hospital NHS Foundation Trust")


@pytest.fixture
def hl7_source(hospital):
    return SourceSystemFactory(
        organisation=hospital,
        code="rbd-pas",
        kind=SourceSystem.Kind.HL7V2,
        hl7_sending_application="PAS",
        hl7_sending_facility="RBD",
        local_identifier_system="",
    )


@pytest.fixture
def fhir_source(hospital):
    return SourceSystemFactory(
        organisation=hospital, code="rbd-fhir", kind=SourceSystem.Kind.FHIR, local_identifier_system=""
    )


def adt(control_id: str, visit: str) -> bytes:
    segments = [
        f"MSH|^~\\&|PAS|RBD|DCR|DCR|20261201101500||ADT^A01^ADT_A01|{control_id}|P|2.4",
        "EVN|A01|20261201101500",
        f"PID|1||{NHS_NUMBER}^^^NHS^NH~D123456^^^RBD^MR||Kowalczyk^Zofia^^^Mrs||19540212|F|||"
        "4 Church Lane^^Dorchester^Dorset^DT1 2AB",
        f"PV1|1|I|WARD1^^^RBD||||||||||||||||{visit}|||||||||||||||||||||||||20261201100000",
    ]
    return "\r".join(segments).encode()


def condition_bundle(code: str) -> bytes:
    import json

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:7f1b6e4a-9e49-4f05-8a1a-0b3c4d5e6f70",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER}],
                    "name": [{"family": "Kowalczyk", "given": ["Zofia"]}],
                    "birthDate": "1954-02-12",
                },
            },
            {
                "fullUrl": "urn:uuid:7f1b6e4a-9e49-4f05-8a1a-0b3c4d5e6f71",
                "resource": {
                    "resourceType": "Condition",
                    "id": f"cond-{code}",
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
                    "subject": {"reference": "urn:uuid:7f1b6e4a-9e49-4f05-8a1a-0b3c4d5e6f70"},
                },
            },
        ],
    }
    return json.dumps(bundle).encode()


def ingest(source, payload: bytes, fmt: str) -> InboundMessage:
    message = message_receive(
        channel="file", payload=payload, format=fmt, source_system=source, enqueue=False
    )
    return message_process(message.pk)


def opt_out_for_nhs_number(person=None):
    return opt_out_approve(
        opt_out=opt_out_register(
            details=OptOutDetails(
                given_names="Zofia",
                family_name="Kowalczyk",
                date_of_birth=date(1954, 2, 12),
                address="4 Church Lane, Dorchester",
                postcode="DT1 2AB",
                declaration=True,
                nhs_number=NHS_NUMBER,
            ),
            channel="web",
        ),
        decided_by=UserFactory(),
        person=person,
    )


def test_later_hl7_and_fhir_messages_store_nothing_and_are_counted(hl7_source, fhir_source):
    first = ingest(hl7_source, adt("MSG0001", "V1"), "hl7v2")
    assert first.status == InboundMessage.Status.APPLIED
    person = Person.objects.get(nhs_number=NHS_NUMBER)
    assert Entry.objects.filter(person=person).exists()

    opt_out = opt_out_for_nhs_number(person)

    assert not Person.objects.exists()
    first.refresh_from_db()
    assert bytes(first.payload) == b""  # the raw copy about them alone goes too
    assert first.status == InboundMessage.Status.DISCARDED
    later_hl7 = ingest(hl7_source, adt("MSG0002", "V2"), "hl7v2")
    later_fhir = ingest(fhir_source, condition_bundle("44054006"), "fhir-json")
    assert later_hl7.status == InboundMessage.Status.DROPPED
    assert later_fhir.status == InboundMessage.Status.DROPPED
    assert not Person.objects.exists()
    assert not Entry.objects.exists()
    assert opt_out.erased["records.Person"] == 1


def test_after_withdrawal_new_data_is_stored_again(hl7_source):
    opt_out = opt_out_for_nhs_number()
    assert ingest(hl7_source, adt("MSG0003", "V3"), "hl7v2").status == InboundMessage.Status.DROPPED

    opt_out_withdraw(opt_out=opt_out, withdrawn_by=UserFactory(), note="Changed their mind")

    assert ingest(hl7_source, adt("MSG0004", "V4"), "hl7v2").status == InboundMessage.Status.APPLIED
    assert Person.objects.filter(nhs_number=NHS_NUMBER).exists()


def test_after_withdrawal_a_source_can_resend_what_was_erased(hl7_source):
    person_message = ingest(hl7_source, adt("MSG0005", "V5"), "hl7v2")
    opt_out = opt_out_for_nhs_number(Person.objects.get(nhs_number=NHS_NUMBER))
    opt_out_withdraw(opt_out=opt_out, withdrawn_by=UserFactory())

    resent = ingest(hl7_source, adt("MSG0005", "V5"), "hl7v2")  # the same control id as before

    assert person_message.pk != resent.pk
    assert resent.status == InboundMessage.Status.APPLIED
    assert Entry.objects.filter(person__nhs_number=NHS_NUMBER).exists()


def test_messages_dropped_during_the_opt_out_can_be_reprocessed_after_withdrawal(hl7_source):
    from ingestion.services.review import message_reprocess

    opt_out = opt_out_for_nhs_number()
    dropped = ingest(hl7_source, adt("MSG0006", "V6"), "hl7v2")
    opt_out_withdraw(opt_out=opt_out, withdrawn_by=UserFactory())

    again = message_reprocess(message=dropped, reason="Opt-out withdrawn")

    assert again.status == InboundMessage.Status.APPLIED
    assert Person.objects.filter(nhs_number=NHS_NUMBER).exists()


def test_a_person_stored_at_the_moment_of_approval_is_erased_by_the_sweep(hl7_source):
    from consent.services import opt_outs_enforce

    opt_out_for_nhs_number()
    # a writer whose opt-out check ran just before the approval committed
    racing = Person.objects.create(nhs_number=NHS_NUMBER, family_name="Kowalczyk")

    erased = opt_outs_enforce()

    assert erased["records.Person"] == 1
    assert not Person.objects.filter(pk=racing.pk).exists()
    assert opt_outs_enforce() == {}
