"""The integration engineer's queues in Django admin: held, failed, duplicates and merges, every action
recorded with who took it and why."""

import json

import pytest
from django.urls import reverse

from ingestion.models import InboundMessage, IngestionAction, MergeRecord
from ingestion.services import apply, ledger
from ingestion.services.apply import mapped_record_apply
from records.models import Entry, Person
from tests.ingestion.pipeline.hl7 import oru
from tests.ingestion.pipeline.records import identity, merge
from tests.records.factories import EntryFactory, LocalIdentifierFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = "9990000018"


@pytest.fixture
def engineer(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def held_message(source) -> InboundMessage:
    body = json.dumps(
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Nobody"}],
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000017"}],
        }
    ).encode()
    message = ledger.message_receive(
        channel="http", payload=body, format="fhir-json", source_system=source, enqueue=False
    )
    return apply.message_process(message.pk)


def failed_message(source) -> InboundMessage:
    raw = oru(1).replace(b"OBR|1|", b"XXX|1|")
    message = ledger.hl7_store(raw, channel="mllp", source_system=source, enqueue=False).message
    return apply.message_process(message.pk)


def test_the_queues_list_their_messages(engineer, fhir_source, hl7_source):
    held = held_message(fhir_source)
    failed = failed_message(hl7_source)
    duplicate = ledger.message_receive(
        channel="http", payload=bytes(held.payload), format="fhir-json", source_system=fhir_source
    )

    pages = {
        name: engineer.get(reverse(f"admin:ingestion_{name}_changelist")).content.decode()
        for name in ("heldmessage", "failedmessage", "duplicatemessage", "inboundmessage")
    }

    def listed(name, message):
        return reverse(f"admin:ingestion_{name}_change", args=[message.pk]) in pages[name]

    assert listed("heldmessage", held)
    assert not listed("heldmessage", failed)
    assert listed("failedmessage", failed)
    assert not listed("failedmessage", held)
    assert listed("duplicatemessage", duplicate)
    assert listed("inboundmessage", held)
    assert listed("inboundmessage", failed)
    page = engineer.get(reverse("admin:ingestion_inboundmessage_change", args=[failed.pk])).content.decode()
    assert "Edit and reprocess" in page
    assert "OBR" in page  # the reason names where


def test_a_held_message_is_filed_under_the_person_the_reviewer_names(engineer, fhir_source):
    message = held_message(fhir_source)
    person = PersonFactory(nhs_number=VALID)
    url = reverse("admin:ingestion_inboundmessage_resolve", args=[message.pk])

    assert "cannot be matched" in engineer.get(url).content.decode()
    response = engineer.post(url, {"nhs_number": "999 000 0018", "reason": "checked with the ward"})

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "applied"
    assert message.resolution_person == person
    action = IngestionAction.objects.get(message=message)
    assert (action.action, action.user, action.reason) == (
        "resolve_match",
        engineer.user,
        "checked with the ward",
    )


def test_a_held_message_can_make_a_new_person(engineer, fhir_source):
    message = held_message(fhir_source)

    engineer.post(
        reverse("admin:ingestion_inboundmessage_resolve", args=[message.pk]),
        {"create": "on", "reason": "new"},
    )

    message.refresh_from_db()
    assert message.status == "applied"
    assert Person.objects.get().family_name == "Nobody"
    assert Person.objects.get().nhs_number is None


def test_a_failed_message_is_corrected_and_reprocessed_keeping_what_was_received(engineer, hl7_source):
    message = failed_message(hl7_source)
    received = bytes(message.payload)
    corrected = received.decode().replace("XXX|1|", "OBR|1|").replace("\r", "\n")

    engineer.post(
        reverse("admin:ingestion_inboundmessage_edit", args=[message.pk]),
        {"payload": corrected, "reason": "the OBR segment name was mangled"},
    )

    message.refresh_from_db()
    assert message.status == "applied"
    assert Entry.objects.count() == 11
    action = IngestionAction.objects.get(message=message)
    assert action.action == "edit_reprocess"
    import base64

    assert base64.b64decode(action.detail["previous_payload_base64"]) == received


def test_a_failed_message_is_discarded_with_a_reason(engineer, hl7_source):
    message = failed_message(hl7_source)

    engineer.post(
        reverse("admin:ingestion_inboundmessage_discard", args=[message.pk]), {"reason": "test message"}
    )

    message.refresh_from_db()
    assert message.status == "discarded"
    assert IngestionAction.objects.get(message=message).reason == "test message"


def test_a_merge_is_undone_from_admin(engineer, hl7_source):
    LocalIdentifierFactory(system="RBD", value="NEW", person__nhs_number=None)
    retired = LocalIdentifierFactory(system="RBD", value="OLD", person__nhs_number=VALID).person
    entry = EntryFactory(person=retired, source_system=hl7_source)
    mapped_record_apply(
        source_system=hl7_source, record=merge(surviving=identity(mrn="NEW"), retired=identity(mrn="OLD"))
    )
    record = MergeRecord.objects.get()
    assert (
        "Undo the merge"
        in engineer.get(reverse("admin:ingestion_mergerecord_change", args=[record.pk])).content.decode()
    )

    engineer.post(reverse("admin:ingestion_mergerecord_undo", args=[record.pk]), {"reason": "wrong patient"})

    entry.refresh_from_db()
    assert entry.person == retired
    record.refresh_from_db()
    assert (record.status, record.undone_by, record.undo_reason) == ("undone", engineer.user, "wrong patient")
    assert IngestionAction.objects.get(merge=record).action == "undo_merge"


def test_staff_without_the_change_permission_cannot_act(client, hl7_source):
    client.force_login(UserFactory(is_staff=True))
    message = failed_message(hl7_source)

    response = client.post(
        reverse("admin:ingestion_inboundmessage_discard", args=[message.pk]), {"reason": "no"}
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "failed"
