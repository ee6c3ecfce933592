"""Each page of a person's record: what a clinician sees, what other roles do not, and the trail."""

import re
from datetime import date
from urllib.parse import unquote

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from portal.record import Cursor
from records.models import AccessGrant, Entry
from tests.portal.record.builders import HBA1C, LETTER, clinician_for, record_person
from tests.records.access_factories import ADMIN, actor_at, role
from tests.records.factories import GpPracticeFactory, PersonFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def record():
    return record_person()


@pytest.fixture
def gp(client, record):
    actor = clinician_for(record)
    client.force_login(actor.user)
    return actor


class TestBanner:
    def test_shows_who_the_person_is_and_what_must_not_be_missed(self, client, record, gp):
        page = text(client.get(reverse("portal:person_detail", args=[record.person.pk])))

        assert "HARDY, Thomasina" in page
        assert record.person.nhs_number_display in page
        assert "2 Jun 1948" in page
        assert f"({record.person.age_on()}&nbsp;years)" in page
        assert "Female" in page
        assert "1 High West Street" in page
        assert "DT1 1UZ" in page
        assert "Dr Ada Lovelace" in page
        assert "Bridport Medical Centre" in page
        assert "Allergies: Penicillin" in page
        assert "At risk of falls" in page

    def test_says_restricted_information_exists_without_showing_it(self, client, record, gp):
        page = text(client.get(reverse("portal:person_detail", args=[record.person.pk])))

        assert "Restricted information exists" in page
        assert "Vulnerable adult" not in page
        event = AccessEvent.objects.get(outcome="allowed")
        assert record.entries["safeguarding"].pk not in event.detail["entries"]

    def test_a_safeguarding_officer_sees_the_safeguarding_alert(self, client, record):
        officer = actor_at(record.practice, role_=role("safeguarding-officer", sees_safeguarding=True))
        client.force_login(officer.user)

        page = text(client.get(reverse("portal:person_detail", args=[record.person.pk])))

        assert "Vulnerable adult" in page
        assert "Restricted information exists" not in page

    def test_shows_a_death_and_hides_a_restricted_persons_address(self, client, gp):
        practice = gp.organisation
        person = PersonFactory(
            registered_practice=practice, date_of_death=date(2026, 1, 5), is_restricted=True
        )
        from tests.records.factories import PersonAddressFactory

        PersonAddressFactory(person=person, lines="9 Secret Lane")

        page = text(client.get(reverse("portal:person_detail", args=[person.pk])))

        assert "Died 5 Jan 2026" in page
        assert "9 Secret Lane" not in page
        assert "Restricted: not shown" in page

    def test_the_banners_allergies_and_alerts_are_in_the_access_event(self, client, record, gp):
        client.get(reverse("portal:person_detail", args=[record.person.pk]))

        event = AccessEvent.objects.get(outcome="allowed")
        assert record.entries["allergy"].pk in event.detail["entries"]
        assert {"allergy", "alert"} <= set(event.detail["categories"])


class TestSummary:
    def test_shows_the_current_picture_from_every_source(self, client, record, gp):
        page = text(client.get(reverse("portal:person_detail", args=[record.person.pk])))

        for shown in (
            "Type 2 diabetes mellitus",
            "Metformin 500mg tablets",
            "Next of kin: Jude Fawley",
            "Carer: Sue Bridehead",
            "Home care: Wessex Home Care",
            "Diabetes clinic: booked",
            "GP consultation 0",
            "HbA1c: 47",
        ):
            assert shown in page, shown
        review = record.entries["care_plan"].review_due_on
        assert f"Next review due <strong>{review.day} {review:%b %Y}</strong>" in page
        assert "West Dorset Hospital" in page
        assert "Dorset Council" in page

    def test_an_administrator_sees_appointments_and_no_clinical_category(self, client, record):
        clerk = actor_at(record.practice, role_=role("practice-administrator", categories=ADMIN))
        client.force_login(clerk.user)

        page = text(client.get(reverse("portal:person_detail", args=[record.person.pk])))

        assert "Diabetes clinic: booked" in page
        for hidden in ("Metformin", "Type 2 diabetes", "Penicillin", "HbA1c", "Jude Fawley", "Results</a>"):
            assert hidden not in page, hidden
        event = AccessEvent.objects.get(outcome="allowed")
        assert set(event.detail["categories"]) <= set(ADMIN)

    def test_is_404_for_someone_without_a_relationship(self, client, record):
        stranger = actor_at(GpPracticeFactory(), role_=role("gp"))
        client.force_login(stranger.user)

        assert client.get(reverse("portal:person_detail", args=[record.person.pk])).status_code == 404


class TestResults:
    def test_reports_show_values_units_ranges_and_flags(self, client, record, gp):
        page = text(client.get(reverse("portal:person_results", args=[record.person.pk])))

        assert "58" in page
        assert "mmol/mol" in page
        assert "20 to 48" in page
        assert page.count("dcr-flag-word") == 2  # 58 and 54 are high, 47 is not
        assert reverse("portal:result_trend", args=[record.person.pk, HBA1C]) in page

    def test_a_trend_has_chart_data_oldest_first_and_a_table(self, client, record, gp):
        response = client.get(reverse("portal:result_trend", args=[record.person.pk, HBA1C]))

        chart = response.context["chart"]
        assert chart["values"] == [58.0, 54.0, 47.0]
        assert chart["low"] == 20
        assert chart["high"] == 48
        assert chart["flags"] == ["H", "H", ""]
        page = text(response)
        assert 'id="trend-data"' in page
        assert "chart.umd.min.js" in page
        assert "<table" in page

    def test_the_cumulative_table_puts_reports_side_by_side(self, client, record, gp):
        response = client.get(reverse("portal:results_cumulative", args=[record.person.pk, "hba1c"]))

        ((display, unit, values),) = response.context["table"].rows
        assert display == "HbA1c"
        assert unit == "mmol/mol"
        assert [v.shown for v in values] == ["47", "54", "58"]

    def test_an_unknown_test_is_404(self, client, record, gp):
        assert client.get(reverse("portal:result_trend", args=[record.person.pk, "nope"])).status_code == 404


class TestDocuments:
    def test_a_letter_is_readable_in_the_page(self, client, record, gp):
        letter = record.entries["letter"]
        listing = text(client.get(reverse("portal:person_documents", args=[record.person.pk])))
        page = text(client.get(reverse("portal:entry_detail", args=[record.person.pk, letter.pk])))

        assert "Discharge summary: pneumonia" in listing
        assert "Repeat chest X-ray in six weeks." in page
        assert "Report incorrect information" in page

    def test_an_attachment_downloads_and_the_download_is_audited(self, client, record, gp):
        letter = record.entries["letter"]

        response = client.get(reverse("portal:attachment_download", args=[record.person.pk, letter.pk, 0]))

        assert response.content.decode() == LETTER
        assert response["Content-Disposition"].startswith("attachment;")
        event = AccessEvent.objects.get(action="view_document")
        assert event.detail["entries"] == [letter.pk]
        assert event.detail["download"] is True

    def test_an_entry_of_another_person_is_404_through_this_persons_url(self, client, record, gp):
        other = PersonFactory(registered_practice=record.practice)

        url = reverse("portal:entry_detail", args=[other.pk, record.entries["letter"].pk])

        assert client.get(url).status_code == 404


class TestSocialCare:
    def test_shows_the_package_worker_review_carers(self, client, record, gp):
        page = text(client.get(reverse("portal:person_social_care", args=[record.person.pk])))

        assert "Two calls a day for personal care." in page
        assert "Gabriel Oak, social worker" in page
        assert "Wessex Home Care" in page
        assert "Carer: Sue Bridehead" in page
        review = record.entries["care_plan"].review_due_on
        assert f"{review.day} {review:%b %Y}" in page


class TestBreakGlass:
    def post(self, client, person, **overrides):
        data = {
            "nhs_number": person.nhs_number,
            "date_of_birth": person.date_of_birth.strftime("%d/%m/%Y"),
            "reason_code": "emergency",
            "reason_text": "Brought in unconscious",
            "confirm": "on",
            **overrides,
        }
        return client.post(reverse("portal:emergency_access"), data)

    def test_opens_the_record_with_a_banner_while_in_force(self, client, record):
        stranger = actor_at(GpPracticeFactory(), role_=role("gp"))
        client.force_login(stranger.user)

        response = self.post(client, record.person)

        assert response.status_code == 302
        page = text(client.get(response.url))
        assert "Emergency access in force until" in page
        assert AccessGrant.objects.get().basis == "break_glass"

    def test_needs_a_reason_in_words(self, client, record):
        stranger = actor_at(GpPracticeFactory(), role_=role("gp"))
        client.force_login(stranger.user)

        response = self.post(client, record.person, reason_text="")

        assert response.status_code == 200
        assert "Explain why you need this record now" in text(response)
        assert not AccessGrant.objects.exists()

    def test_a_role_that_cannot_break_glass_is_told_so(self, client, record):
        clerk = actor_at(GpPracticeFactory(), role_=role("clerk", categories=ADMIN, may_break_glass=False))
        client.force_login(clerk.user)

        page = text(client.get(reverse("portal:emergency_access")))

        assert "Your role cannot use emergency access" in page


def test_the_record_is_never_edited_by_viewing_it(client, record, gp):
    before = list(Entry.objects.order_by("pk").values_list("pk", "source_updated_at", "resource"))
    for name in ("portal:person_detail", "portal:person_timeline", "portal:person_results"):
        client.get(reverse(name, args=[record.person.pk]))
    assert list(Entry.objects.order_by("pk").values_list("pk", "source_updated_at", "resource")) == before


class TestSelfClaim:
    def post(self, client, person):
        return client.post(
            reverse("portal:emergency_access"),
            {
                "basis": "self_claim",
                "nhs_number": person.nhs_number,
                "date_of_birth": person.date_of_birth.strftime("%d/%m/%Y"),
                "reason_code": "new_referral",
                "reason_text": "Referred to our memory clinic yesterday",
                "confirm": "on",
            },
        )

    def test_opens_the_record_where_the_organisation_allows_it(self, client, record):
        practice = GpPracticeFactory(allows_self_claim=True)
        nurse = actor_at(practice, role_=role("nurse"))
        client.force_login(nurse.user)

        response = self.post(client, record.person)

        assert response.status_code == 302
        assert AccessGrant.objects.get().basis == "self_claim"
        assert client.get(response.url).status_code == 200

    def test_is_refused_with_the_reason_where_it_does_not(self, client, record):
        practice = GpPracticeFactory(allows_self_claim=False, name="Careful Surgery")
        nurse = actor_at(practice, role_=role("nurse"))
        client.force_login(nurse.user)

        response = self.post(client, record.person)

        assert "Careful Surgery does not allow staff to claim a care relationship" in text(response)
        assert not AccessGrant.objects.exists()


def test_older_reports_load_by_keyset_without_repeats(client, gp):
    from tests.records.access_factories import entry

    practice = gp.organisation
    person = PersonFactory(registered_practice=practice)
    reports = [
        entry(person, practice, category="lab_report", days_ago=n, summary=f"Report {n}") for n in range(40)
    ]
    url = reverse("portal:person_results", args=[person.pk])

    first = client.get(url)
    seen = [r.entry.pk for r in first.context["results"].reports]
    cursor = first.context["results"].next_cursor
    while cursor:
        page = client.get(url, {"after": cursor.encode()}, headers={"HX-Request": "true"})
        assert b"<html" not in page.content
        found = [int(pk) for pk in re.findall(rb'id="report-(\d+)"', page.content)]
        seen += found
        cursor = None
        more = re.search(rb'hx-get="\?after=([^"]+)"', page.content)
        if more:
            cursor = Cursor.decode(unquote(more.group(1).decode()))

    assert seen == [r.pk for r in reports]


@pytest.mark.parametrize("name", ["portal:person_detail", "portal:person_timeline", "portal:person_results"])
def test_the_number_of_queries_does_not_grow_with_the_record(client, gp, name, django_assert_max_num_queries):
    from tests.records.access_factories import entry

    practice = gp.organisation
    small, large = PersonFactory(registered_practice=practice), PersonFactory(registered_practice=practice)
    for person, count in ((small, 3), (large, 120)):
        for n in range(count):
            report = entry(person, practice, category="lab_report", days_ago=n)
            entry(person, practice, category="lab_result", parent=report, code="hb", days_ago=n)
            entry(person, practice, category="encounter", days_ago=n)
    client.get(reverse(name, args=[small.pk]))  # warm the per-process tables

    with django_assert_max_num_queries(20) as small_queries:
        client.get(reverse(name, args=[small.pk]))
    with django_assert_max_num_queries(len(small_queries) + 1):
        client.get(reverse(name, args=[large.pk]))


def test_search_results_show_the_postcode_to_tell_people_apart(client, record, gp):
    response = client.get(reverse("portal:person_search"), {"name": "Hardy", "date_of_birth": "02/06/1948"})

    assert "DT1 1UZ" in text(response)
