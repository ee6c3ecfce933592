"""Opt-outs in Django admin: staff enter paper and phone requests, the privacy officer matches and decides,
and an approval erases the record at once while the access trail survives."""

from datetime import date, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, PrivacyAlert
from consent.models import OptOut
from consent.selectors import MATCH, MISMATCH, NEAR, nhs_numbers_opted_out, opt_out_candidates
from consent.services import (
    OptOutDetails,
    opt_out_approve,
    opt_out_register,
    opt_out_reject,
    opt_out_withdraw,
)
from records.access import care_relationship_grant, person_open, person_search
from records.models import Entry, LocalIdentifier, Person, PersonAddress, PersonUserObjectPermission
from tests.records.access_factories import actor_at, entry, role
from tests.records.factories import (
    GpPracticeFactory,
    LocalIdentifierFactory,
    PersonAddressFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RECEIVED = timezone.make_aware(datetime(2026, 3, 2, 10, 0))


@pytest.fixture
def officer(settings):
    settings.DCR_PRIVACY_OFFICER_EMAILS = ["privacy@example.nhs.uk"]
    return UserFactory(is_staff=True, is_superuser=True, email="officer@example.nhs.uk")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def details_for(person: Person, postcode: str, **overrides) -> OptOutDetails:
    values = {
        "given_names": person.given_names,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "address": "1 High West Street\nDorchester",
        "postcode": postcode,
        "declaration": True,
        "nhs_number": person.nhs_number,
        **overrides,
    }
    return OptOutDetails(**values)


@pytest.fixture
def held():
    """A person with a full record: demographics, address, hospital number, entries and a granted
    relationship, opened once by their GP (so there is a trail)."""
    practice = GpPracticeFactory()
    person = PersonFactory(
        registered_practice=practice,
        given_names="Łucja",
        family_name="Wiśniewska",
        date_of_birth=date(1961, 3, 4),
    )
    PersonAddressFactory(person=person, postcode="DT1 1UZ")
    LocalIdentifierFactory(person=person)
    entry(person, practice, summary="Type 2 diabetes")
    entry(person, practice, category="appointment", summary="Diabetes review")
    gp = actor_at(practice, role_=role("gp"))
    care_relationship_grant(person=person, user=UserFactory(), granted_by=None)
    person_open(actor=gp, person_id=person.pk, action="view_record", detail={"page": "record"})
    return person, gp


class TestStaffEntry:
    def test_staff_enter_a_phone_request_with_its_channel_and_the_privacy_officer_is_alerted(
        self, officer_client, officer, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.post(
                reverse("admin:consent_optout_add"),
                {
                    "channel": "phone",
                    "language": "pl",
                    "received_at_0": "08/12/2026",
                    "received_at_1": "10:30",
                    "received_at": "2026-12-08 10:30",
                    "on_behalf": "self",
                    "given_names": "Andrzej",
                    "family_name": "Kowalski",
                    "date_of_birth": "1970-05-06",
                    "nhs_number": "999 000 0018",
                    "address": "2 South Street, Bridport",
                    "postcode": "dt6 3nq",
                    "declaration": "on",
                },
            )

        assert response.status_code == 302, response.context["adminform"].form.errors
        opt_out = OptOut.objects.get()
        assert (opt_out.channel, opt_out.language, opt_out.entered_by) == ("phone", "pl", officer)
        assert (opt_out.nhs_number, opt_out.postcode, opt_out.status) == ("9990000018", "DT6 3NQ", "received")
        alert = PrivacyAlert.objects.get(kind=PrivacyAlert.Kind.OPT_OUT)
        assert mail.outbox[0].to == ["privacy@example.nhs.uk"]
        assert alert.reference in mail.outbox[0].body
        assert "Kowalski" not in mail.outbox[0].body
        assert "9990000018" not in mail.outbox[0].body

    def test_the_web_channel_is_not_offered_to_staff_and_missing_details_are_named(self, officer_client):
        response = officer_client.post(
            reverse("admin:consent_optout_add"), {"channel": "web", "language": "en-gb"}
        )

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert "channel" in form.errors
        assert "family_name" in form.errors
        assert "declaration" in form.errors
        assert not OptOut.objects.exists()


class TestMatching:
    def test_exact_near_and_mismatched_details_are_shown_for_judgement(self, held):
        person, _ = held
        swapped = person.date_of_birth.replace(day=person.date_of_birth.month, month=person.date_of_birth.day)
        opt_out = opt_out_register(
            details=details_for(
                person, "DT1 1UX", nhs_number="", family_name="Wisniewska", date_of_birth=swapped
            ),
            channel="post",
        )

        [candidate] = opt_out_candidates(opt_out=opt_out)

        verdicts = {check.field: check.verdict for check in candidate.checks}
        assert candidate.person == person
        assert verdicts == {"NHS number": "not given", "Date of birth": NEAR, "Postcode": NEAR, "Name": NEAR}

    def test_an_exact_match_by_nhs_number_and_a_stranger_at_the_same_postcode(self, held):
        person, _ = held
        stranger = PersonFactory(family_name="Wiśniewska", date_of_birth=date(1990, 1, 1))
        PersonAddressFactory(person=stranger, postcode="DT1 1UZ")
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web")

        candidates = opt_out_candidates(opt_out=opt_out)

        assert [c.person for c in candidates] == [person, stranger]
        assert candidates[0].is_exact
        assert {c.field: c.verdict for c in candidates[1].checks}["NHS number"] == MISMATCH
        assert {c.field: c.verdict for c in candidates[1].checks}["Postcode"] == MATCH

    def test_the_decide_page_lists_the_candidates(self, officer_client, held):
        person, _ = held
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web")

        page = officer_client.get(reverse("admin:consent_optout_decide", args=[opt_out.pk]))

        assert page.status_code == 200
        assert "all details match" in page.content.decode()
        assert person.family_name in page.content.decode()


class TestApproval:
    def test_approval_erases_the_record_at_once_and_keeps_the_trail(self, officer_client, officer, held):
        person, _gp = held
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web")
        events_before = AccessEvent.objects.count()

        response = officer_client.post(
            reverse("admin:consent_optout_decide", args=[opt_out.pk]),
            {"decision": "approve", "person": str(person.pk), "nhs_number": "", "reason": ""},
        )

        assert response.status_code == 302
        nhs_number, pk = person.nhs_number, person.pk
        assert not Person.objects.filter(pk=pk).exists()
        assert not Entry.objects.filter(person_id=pk).exists()
        assert not PersonAddress.objects.filter(person_id=pk).exists()
        assert not LocalIdentifier.objects.filter(person_id=pk).exists()
        assert not PersonUserObjectPermission.objects.filter(content_object_id=pk).exists()
        # the trail of who looked survives, and still verifies
        assert AccessEvent.objects.count() == events_before
        assert AccessEvent.objects.filter(person_nhs_number=nhs_number).exists()
        call_command("verify_audit")
        # only the minimum is kept
        opt_out.refresh_from_db()
        assert opt_out.status == "approved"
        assert opt_out.nhs_number == nhs_number
        assert (opt_out.family_name, opt_out.address, opt_out.postcode, opt_out.date_of_birth) == (
            "",
            "",
            "",
            None,
        )
        assert opt_out.erased["records.Entry"] == 2
        assert nhs_numbers_opted_out([nhs_number]) == {nhs_number}
        # the decision and who took it
        log = LogEntry.objects.get_for_object(opt_out).filter(action=LogEntry.Action.UPDATE).get()
        assert log.actor == officer
        assert log.changes_dict["status"] == ["received", "approved"]
        assert "Wiśniewska" not in str(
            LogEntry.objects.get_for_object(opt_out).values_list("changes", flat=True)
        )

    def test_after_approval_search_pages_and_admin_show_nothing(self, officer_client, held):
        person, gp = held
        nhs_number, pk = person.nhs_number, person.pk
        opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
            decided_by=UserFactory(),
            person=person,
        )

        assert person_search(actor=gp, nhs_number=nhs_number) == []
        assert person_search(actor=gp, name="Wiśniewska", date_of_birth=date(1961, 3, 4)) == []
        client = Client()
        client.force_login(gp.user)
        assert client.get(reverse("portal:person_detail", args=[pk])).status_code == 404
        found = client.get(reverse("portal:person_search"), {"nhs_number": nhs_number})
        assert b"WI\xc5\x9aNIEWSKA" not in found.content.upper()
        assert "Wiśniewska".encode() not in found.content
        for admin_list in ("admin:records_person_changelist", "admin:records_entry_changelist"):
            page = officer_client.get(reverse(admin_list), {"q": nhs_number})
            assert page.context["cl"].result_count == 0

    def test_privacy_alerts_and_break_glass_reviews_survive_the_erasure(self, held):
        from records.access import break_glass_grant

        person, _ = held
        nhs_number = person.nhs_number
        paramedic = actor_at(GpPracticeFactory(), role_=role("paramedic"))
        break_glass_grant(
            actor=paramedic,
            nhs_number=nhs_number,
            date_of_birth=person.date_of_birth,
            reason_code="emergency",
        )
        alert = PrivacyAlert.objects.get(kind=PrivacyAlert.Kind.BREAK_GLASS)

        opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
            decided_by=UserFactory(),
            person=person,
        )

        alert.refresh_from_db()
        assert alert.person_id == person.pk  # a plain value, like the trail's
        assert alert.access_grant is None  # the grant went with the record; the alert and its event stay
        assert AccessEvent.objects.filter(action="break_glass", person_nhs_number=nhs_number).exists()

    def test_after_approval_every_person_url_of_the_portal_is_a_404(self, held):
        import re

        from tests.portal.test_one_door import PERSON_URLS

        person, gp = held
        pk, entry_id = person.pk, Entry.objects.filter(person=person).first().pk
        opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
            decided_by=UserFactory(),
            person=person,
        )
        client = Client()
        client.force_login(gp.user)
        samples = {"person_id": pk, "entry_id": entry_id, "index": 0, "code": "44054006", "panel": "fbc"}

        for name, route in PERSON_URLS:
            kwargs = {key: samples.get(key, "OPT-TEST") for key in re.findall(r"<(?:\w+:)?(\w+)>", route)}
            response = client.get(reverse(name, kwargs=kwargs))
            assert response.status_code == 404, name
            assert "Wiśniewska".encode() not in response.content, name

    def test_the_letter_names_the_reference_and_says_other_records_are_not_affected(self, held):
        person, _ = held
        opt_out = opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="leaflet"),
            decided_by=UserFactory(),
            person=person,
        )

        assert opt_out.reference in opt_out.letter_text
        assert "Łucja Wiśniewska" in opt_out.letter_text
        assert "DT1 1UZ" in opt_out.letter_text
        assert "Summary Care Record" in opt_out.letter_text
        assert "approved" in opt_out.letter_text

    @pytest.mark.parametrize(
        ("language", "phrases"),
        [
            ("pl", ["Z poważaniem", "Wniosek został zatwierdzony", "Summary Care Record", "marca"]),
            ("ro", ["Cu stimă", "am aprobat-o", "Summary Care Record", "Martie"]),
        ],
    )
    def test_the_letter_is_written_in_the_applicants_language(self, held, language, phrases):
        person, _ = held
        opt_out = opt_out_register(
            details=details_for(person, "DT1 1UZ"), channel="web", language=language, received_at=RECEIVED
        )

        letter = opt_out_approve(opt_out=opt_out, decided_by=UserFactory(), person=person).letter_text

        for phrase in phrases:
            assert phrase in letter
        assert "We received" not in letter

    def test_a_polish_rejection_gives_the_reason_in_polish(self, held):
        person, _ = held
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web", language="pl")

        letter = opt_out_reject(
            opt_out=opt_out, decided_by=UserFactory(), reason_code="authority"
        ).letter_text

        assert "Niestety nie mogliśmy go zatwierdzić" in letter
        assert "nie wykazano, że osoba składająca wniosek ma prawo działać" in letter

    def test_someone_with_no_record_yet_can_opt_out_of_future_data_by_nhs_number(self, officer_client):
        opt_out = opt_out_register(
            details=OptOutDetails(
                given_names="Ion",
                family_name="Popescu",
                date_of_birth=date(1985, 7, 1),
                address="3 Quay",
                postcode="BH15 1HJ",
                declaration=True,
            ),
            channel="web",
        )

        page = officer_client.get(reverse("admin:consent_optout_decide", args=[opt_out.pk]))
        assert b'id="no-candidates"' in page.content
        refused = officer_client.post(
            reverse("admin:consent_optout_decide", args=[opt_out.pk]), {"decision": "approve", "person": ""}
        )
        assert "trace the person" in refused.content.decode()
        officer_client.post(
            reverse("admin:consent_optout_decide", args=[opt_out.pk]),
            {"decision": "approve", "person": "", "nhs_number": "999 000 0026"},
        )

        assert nhs_numbers_opted_out(["9990000026"]) == {"9990000026"}

    def test_a_request_is_decided_once(self, held):
        person, _ = held
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web")
        opt_out_approve(opt_out=opt_out, decided_by=UserFactory(), person=person)

        with pytest.raises(Exception, match="already been decided"):
            opt_out_reject(opt_out=opt_out, decided_by=UserFactory(), reason_code="duplicate")


class TestRejection:
    def test_a_rejection_needs_a_reason_and_keeps_the_record(self, officer_client, held):
        person, _ = held
        opt_out = opt_out_register(details=details_for(person, "DT1 1UZ"), channel="post")
        url = reverse("admin:consent_optout_decide", args=[opt_out.pk])

        without = officer_client.post(url, {"decision": "reject", "person": "", "reason": " "})
        other_unexplained = officer_client.post(url, {"decision": "reject", "rejection_reason": "other"})
        with_reason = officer_client.post(
            url,
            {
                "decision": "reject",
                "person": "",
                "rejection_reason": "identity",
                "reason": "The date of birth on the leaflet is unreadable.",
            },
        )

        assert "Choose the reason for rejecting" in without.content.decode()
        assert "Explain the reason" in other_unexplained.content.decode()
        assert with_reason.status_code == 302
        opt_out.refresh_from_db()
        assert opt_out.status == "rejected"
        assert "We could not confirm who the request is about" in opt_out.letter_text
        assert "The date of birth on the leaflet is unreadable." in opt_out.letter_text
        assert Person.objects.filter(pk=person.pk).exists()
        assert nhs_numbers_opted_out([person.nhs_number]) == set()


class TestWithdrawal:
    def test_after_withdrawal_data_flows_again(self, officer_client, held):
        person, _ = held
        nhs_number = person.nhs_number
        opt_out = opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
            decided_by=UserFactory(),
            person=person,
        )

        response = officer_client.post(
            reverse("admin:consent_optout_withdraw", args=[opt_out.pk]), {"note": "Phoned on 9 December"}
        )

        assert response.status_code == 302
        opt_out.refresh_from_db()
        assert opt_out.status == "withdrawn"
        assert opt_out.withdrawal_note == "Phoned on 9 December"
        assert nhs_numbers_opted_out([nhs_number]) == set()

    def test_a_new_opt_out_can_follow_a_withdrawal(self, held):
        person, _ = held
        first = opt_out_approve(
            opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
            decided_by=UserFactory(),
            person=person,
        )
        opt_out_withdraw(opt_out=first, withdrawn_by=UserFactory())
        again = opt_out_register(
            details=OptOutDetails(
                given_names="Ł",
                family_name="W",
                date_of_birth=date(1961, 3, 4),
                address="x",
                postcode="DT1 1UZ",
                declaration=True,
                nhs_number=first.nhs_number,
            ),
            channel="phone",
        )

        opt_out_approve(opt_out=again, decided_by=UserFactory())

        assert nhs_numbers_opted_out([first.nhs_number]) == {first.nhs_number}


def test_letters_marked_sent_lose_their_copy_of_the_address(officer_client, held):
    person, _ = held
    opt_out = opt_out_approve(
        opt_out=opt_out_register(details=details_for(person, "DT1 1UZ"), channel="web"),
        decided_by=UserFactory(),
        person=person,
    )
    letter = officer_client.get(reverse("admin:consent_optout_letter", args=[opt_out.pk]))
    assert opt_out.reference in letter.content.decode()

    officer_client.post(
        reverse("admin:consent_optout_changelist"),
        {"action": "mark_letters_sent", "_selected_action": [opt_out.pk]},
    )

    opt_out.refresh_from_db()
    assert opt_out.letter_text == ""
    assert opt_out.letter_sent_at is not None
    assert timezone.now() - opt_out.letter_sent_at < timedelta(minutes=1)
