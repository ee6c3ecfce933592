"""HL7 v2 through the ledger: stored before the ACK, identified by MSH-3/MSH-4, one message once; the
same order under a new control id updates the entry, an older one changes nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ingestion.models import InboundMessage
from ingestion.services import apply, ledger
from records.models import Entry, EntryCategory, Person
from tests.ingestion.pipeline.hl7 import T0, oru

pytestmark = pytest.mark.django_db


def msa(ack: bytes) -> list[str]:
    segment = next(s for s in ack.split(b"\r") if s.startswith(b"MSA"))
    return segment.decode().split("|")


def from_sender(raw: bytes, application: str = "PAS", facility: str = "RBD") -> bytes:
    return raw.replace(b"|BENCHLAB|BENCH1|", f"|{application}|{facility}|".encode(), 1)


def test_a_message_is_stored_then_accepted_and_waits_for_a_worker(hl7_source):
    raw = from_sender(oru(1))

    ack = ledger.hl7_receive(raw, peer="10.0.0.5:40001")

    assert msa(ack)[1:3] == ["AA", "BENCHORU000000001"]
    message = InboundMessage.objects.get()
    assert (message.source_system, message.status, message.channel) == (hl7_source, "received", "mllp")
    assert (message.message_type, message.peer) == ("ORU^R01", "10.0.0.5:40001")
    assert bytes(message.payload) == raw
    assert message.control_id == "BENCHORU000000001"


def test_an_unknown_sender_is_rejected_with_the_reason_and_still_stored(hl7_source):
    ack = ledger.hl7_receive(from_sender(oru(1), "LIMS", "XYZ"))

    assert msa(ack)[1] == "AR"
    assert b"unknown sender" in ack
    message = InboundMessage.objects.get()
    assert (message.status, message.source_system, message.error_location) == ("failed", None, "MSH-3")


def test_unreadable_bytes_are_rejected_and_kept(hl7_source):
    ack = ledger.hl7_receive(b"this is not HL7 at all")

    assert msa(ack)[1] == "AR"
    message = InboundMessage.objects.get()
    assert message.status == "failed"
    assert bytes(message.payload) == b"this is not HL7 at all"


def test_a_repeated_control_id_is_accepted_and_changes_nothing(hl7_source):
    raw = from_sender(oru(1))
    ledger.hl7_receive(raw)
    first = InboundMessage.objects.get()
    apply.message_process(first.pk)
    entries = list(Entry.objects.values_list("id", "version"))

    ack = ledger.hl7_receive(raw)

    assert msa(ack)[1] == "AA"
    again = InboundMessage.objects.latest("id")
    assert (again.status, again.duplicate_of) == ("duplicate", first)
    assert apply.messages_process_pending() == 0
    assert list(Entry.objects.values_list("id", "version")) == entries


def test_a_sender_registered_without_a_facility_takes_every_facility(hl7_source):
    hl7_source.hl7_sending_facility = ""
    hl7_source.save()
    ledger.sources.clear()

    assert msa(ledger.hl7_receive(from_sender(oru(1), "PAS", "ANYWHERE")))[1] == "AA"


def test_receiving_costs_one_insert_and_no_parsing_beyond_the_header(
    hl7_source, django_assert_max_num_queries
):
    ledger.hl7_receive(from_sender(oru(1)))  # loads the senders
    with django_assert_max_num_queries(1):
        ledger.hl7_receive(from_sender(oru(2)))


def _report_value(message: InboundMessage) -> str:
    report = Entry.objects.get(category=EntryCategory.LAB_REPORT, provenance__message_id=message.pk)
    return report.business_key


def test_the_same_order_under_a_new_control_id_updates_and_an_older_one_is_ignored(hl7_source):
    first = oru(1, at=T0)
    newer = first.replace(b"BENCHORU000000001", b"BENCHORU000000002")
    # The same report and results, corrected a day later, then an older version arriving last.
    newer = newer.replace(T0.strftime("%Y%m%d").encode(), b"20261102", 1)
    older = first.replace(b"BENCHORU000000001", b"BENCHORU000000003").replace(
        T0.strftime("%Y%m%d").encode(), b"20261031", 1
    )
    ids = [
        ledger.hl7_store(raw, channel="file", source_system=hl7_source, enqueue=False).message.pk
        for raw in (first, newer, older)
    ]

    for pk in ids:
        apply.message_process(pk)

    outcomes = [InboundMessage.objects.get(pk=pk).outcome["entries"] for pk in ids]
    assert outcomes[0]["created"] == 11
    assert outcomes[1]["updated"] == 11
    assert outcomes[2]["skipped"] == 11
    assert Entry.objects.count() == 11
    assert set(Entry.objects.values_list("version", flat=True)) == {2}
    assert Person.objects.count() == 1


def test_a_batch_of_messages_is_processed_in_a_bounded_number_of_queries(hl7_source):
    ids = [
        ledger.hl7_store(
            oru(n, patient=n), channel="file", source_system=hl7_source, enqueue=False
        ).message.pk
        for n in range(40)
    ]

    with CaptureQueriesContext(connection) as queries:
        apply.messages_process(ids)

    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"applied"}
    assert Person.objects.count() == 40
    # Per batch, not per message: claim, load, match, create, link, demographics, addresses, entries, outcome.
    assert len(queries) < 30


def test_a_cancelled_admission_withdraws_the_encounter(hl7_source):
    from datetime import timedelta

    from ingestion.services import benchmarks

    admit = benchmarks.adt(sequence=1, patient=7, at=T0)
    assert b"ADT^A01" in admit
    cancel = (
        benchmarks.adt(sequence=1, patient=7, at=T0 + timedelta(hours=1))
        .replace(b"ADT^A01^ADT_A01|BENCHADT000000001", b"ADT^A11^ADT_A09|BENCHADT000000002")
        .replace(b"EVN|A01|", b"EVN|A11|")
    )
    ids = [
        ledger.hl7_store(raw, channel="file", source_system=hl7_source, enqueue=False).message.pk
        for raw in (admit, cancel)
    ]

    apply.messages_process(ids)

    cancelled = InboundMessage.objects.get(pk=ids[1])
    assert cancelled.status == "applied", cancelled.error
    assert cancelled.outcome["withdrawn"] == 1
    encounter = Entry.objects.get(category=EntryCategory.ENCOUNTER)
    assert encounter.status == "entered-in-error"
    assert encounter.resource["status"] == "entered-in-error"
    assert encounter.version == 2
