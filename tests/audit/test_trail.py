"""The access trail: append-only in the database, hash-chained, and checked by verify_audit."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from audit.models import AccessEvent
from audit.services import access_event_record
from audit.verify import audit_chain_verify
from records.fhir import validate_resource
from tests.records.access_factories import actor_at

pytestmark = pytest.mark.django_db


def record_views(count: int = 4) -> list[AccessEvent]:
    actor = actor_at()
    return [
        access_event_record(
            actor=actor, action=AccessEvent.Action.VIEW_RECORD, person_id=n, detail={"page": "summary"}
        )
        for n in range(count)
    ]


def tamper(sql: str, *params) -> None:
    """What someone with direct database access would do: switch the guard off, change rows, switch it on."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER audit_accessevent_no_change")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_accessevent ENABLE TRIGGER audit_accessevent_no_change")


def verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as error:
        return 1, out.getvalue() + str(error)
    return 0, out.getvalue()


class TestAppendOnly:
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_accessevent SET user_display = 'someone else'",
            "DELETE FROM audit_accessevent",
        ],
    )
    def test_the_database_refuses_to_change_or_remove_an_event(self, sql):
        record_views(1)
        with (
            pytest.raises((InternalError, ProgrammingError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert AccessEvent.objects.count() == 1

    def test_truncate_is_refused_outside_test_teardown(self):
        record_views(1)
        with pytest.raises((InternalError, ProgrammingError), match="append-only"):  # noqa: PT012, SIM117
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL dcr.audit_truncate_allowed = 'off'")
                cursor.execute("TRUNCATE audit_accessevent")
        assert AccessEvent.objects.count() == 1

    def test_the_orm_cannot_edit_an_event_either(self):
        event = record_views(1)[0]
        event.user_display = "someone else"
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
            event.save()


class TestHashChain:
    def test_each_event_is_numbered_and_chained_to_the_one_before(self):
        record_views(3)
        events = list(AccessEvent.objects.order_by("seq"))
        assert [e.seq for e in events] == [1, 2, 3]
        assert events[0].prev_hash == ""
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        assert len({e.hash for e in events}) == 3

    def test_an_intact_trail_verifies(self):
        record_views(5)
        code, output = verify()
        assert code == 0
        assert "5 access events checked: the trail is intact" in output

    def test_a_row_changed_directly_in_the_database_is_caught(self):
        events = record_views(4)
        tamper("UPDATE audit_accessevent SET person_nhs_number = '9990000018' WHERE id = %s", events[1].pk)

        code, output = verify()

        assert code == 1
        assert f"seq=2 id={events[1].pk}: altered" in output

    def test_a_removed_row_is_caught(self):
        events = record_views(4)
        tamper("DELETE FROM audit_accessevent WHERE id = %s", events[2].pk)

        _, problems = audit_chain_verify()

        assert [(p.seq, "removed" in p.problem) for p in problems] == [(4, True)]

    def test_re_ordered_rows_are_caught(self):
        events = record_views(4)
        tamper("UPDATE audit_accessevent SET seq = -2 WHERE seq = 2")
        tamper("UPDATE audit_accessevent SET seq = 2 WHERE seq = 3")
        tamper("UPDATE audit_accessevent SET seq = 3 WHERE seq = -2")

        _, problems = audit_chain_verify()

        assert problems, "swapping two events must break the chain"
        assert {p.event_id for p in problems} & {events[1].pk, events[2].pk, events[3].pk}

    def test_a_forged_event_with_recomputed_hash_still_breaks_the_link_to_its_successor(self):
        events = record_views(3)
        # Change an event, then recompute its own hash exactly as the trigger would.
        tamper("UPDATE audit_accessevent SET user_display = 'forged' WHERE id = %s", events[1].pk)
        tamper(
            "UPDATE audit_accessevent e SET hash = "
            "encode(sha256(convert_to(audit_accessevent_payload(e), 'UTF8')),"
            " 'hex') WHERE id = %s",
            events[1].pk,
        )

        _, problems = audit_chain_verify()

        assert [p.seq for p in problems] == [3]


class TestExports:
    def test_csv_and_fhir_audit_events(self):
        events = record_views(2)
        from audit.exports import access_event_as_fhir, access_events_csv

        csv_text = access_events_csv(AccessEvent.objects.order_by("seq"))
        assert csv_text.splitlines()[0].startswith("seq,occurred_at,user,role")
        assert len(csv_text.splitlines()) == 3
        resource = access_event_as_fhir(events[0])
        validate_resource(json.loads(json.dumps(resource)))
        assert resource["agent"][0]["who"]["display"] == events[0].user_display
