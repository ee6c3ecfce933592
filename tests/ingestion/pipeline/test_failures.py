"""Failures keep the raw message and the reason; transient ones are retried up to a maximum."""

import pytest
from django.db import connection

from ingestion.models import InboundMessage
from ingestion.services import apply, ledger, review
from records.models import Entry
from tests.ingestion.pipeline.hl7 import oru, with_obx_value

pytestmark = pytest.mark.django_db


def store(raw: bytes, source) -> InboundMessage:
    return ledger.hl7_store(raw, channel="file", source_system=source, enqueue=False).message


@pytest.fixture
def refuse_entries():
    """Make PostgreSQL refuse some entries, as a constraint or a failover would: a real database error."""

    def refuse(errcode: str, message: str, when: str = "true") -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION test_entry_refused() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF {when} THEN RAISE EXCEPTION '{message}' USING ERRCODE = '{errcode}'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER test_entry_refused BEFORE INSERT ON records_entry
                    FOR EACH ROW EXECUTE FUNCTION test_entry_refused();
                """
            )

    yield refuse
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS test_entry_refused ON records_entry")
        cursor.execute("DROP FUNCTION IF EXISTS test_entry_refused()")


def test_one_bad_message_in_a_batch_fails_alone_with_the_reason_and_the_rest_are_applied(
    hl7_source, refuse_entries
):
    refuse_entries("22023", "value out of range", "NEW.resource::text LIKE '%POISON%'")
    good = [store(oru(n, patient=n), hl7_source) for n in (1, 2)]
    bad = store(with_obx_value(oru(3, patient=3), b"POISON"), hl7_source)
    last = store(oru(4, patient=4), hl7_source)

    apply.messages_process([m.pk for m in [*good, bad, last]])

    statuses = dict(InboundMessage.objects.values_list("id", "status"))
    assert [statuses[m.pk] for m in [*good, last]] == ["applied"] * 3
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert bad.error.startswith("the data cannot be stored")
    assert b"POISON" in bytes(bad.payload)
    assert Entry.objects.filter(provenance__message_id=bad.pk).count() == 0


def test_a_message_that_cannot_be_mapped_fails_at_once_with_where_and_why(hl7_source):
    raw = oru(1).replace(b"OBR|1|", b"XXX|1|")
    message = store(raw, hl7_source)

    message = apply.message_process(message.pk)

    assert message.status == "failed"
    assert message.attempts == 1
    assert message.error_location
    assert message.error


def test_a_transient_error_is_retried_then_failed_after_the_maximum_attempts(
    hl7_source, refuse_entries, settings, admin_user
):
    refuse_entries("40001", "could not serialize access")
    settings.DCR_INGEST_MAX_ATTEMPTS = 3
    settings.DCR_INGEST_RETRY_SECONDS = 0
    message = store(oru(1), hl7_source)

    message = apply.message_process(message.pk)
    assert (message.status, message.attempts) == ("received", 1)
    assert "could not serialize access" in message.error

    assert apply.messages_process_pending() == 1
    assert apply.messages_process_pending() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.error.startswith("gave up after 3 attempts")
    assert apply.messages_process_pending() == 0

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_entry_refused ON records_entry")
    message = review.message_reprocess(message=message, user=admin_user, reason="database back")
    assert message.status == "applied"
    assert message.actions.get().user == admin_user
    assert Entry.objects.count() == 11


def test_requeue_messages_puts_failed_messages_back_and_processes_them(hl7_source, refuse_entries, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.DCR_INGEST_MAX_ATTEMPTS = 1
    refuse_entries("40001", "could not serialize access")
    message = apply.message_process(store(oru(1), hl7_source).pk)
    assert message.status == "failed"
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_entry_refused ON records_entry")

    out = StringIO()
    call_command("requeue_messages", "--status", "failed", "--now", stdout=out)

    message.refresh_from_db()
    assert message.status == "applied"
    assert "1 failed or held message(s) requeued" in out.getvalue()
    assert message.actions.get().action == "requeue"


def test_requeue_messages_recovers_the_claims_of_a_stopped_worker(hl7_source):
    from io import StringIO

    from django.core.management import call_command

    message = store(oru(1), hl7_source)
    # A worker claimed it, then died before finishing.
    InboundMessage.objects.filter(pk=message.pk).update(status="processing", attempts=1)

    call_command("requeue_messages", "--stale-after", "0", "--now", stdout=StringIO())

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("applied", 2)
