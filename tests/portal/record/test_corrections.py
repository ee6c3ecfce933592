"""Report incorrect information: the request, the data controller's email, the queue, the corrected data."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from records.models import CorrectionRequest, Entry
from tests.portal.record.builders import clinician_for, record_person
from tests.records.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def record():
    return record_person()


@pytest.fixture
def gp(client, record):
    actor = clinician_for(record)
    client.force_login(actor.user)
    return actor


def report(client, record, entry, text="The onset date is wrong: diagnosed in 2018, not 2015"):
    url = reverse("portal:correction_create", args=[record.person.pk, entry.pk])
    return client.post(url, {"what_is_wrong": text})


def test_a_report_keeps_the_entry_as_it_was_and_emails_only_a_reference(
    client, record, gp, django_capture_on_commit_callbacks
):
    problem = record.entries["problem"]
    problem.source_organisation.data_controller_email = "dpo@practice.example.nhs.uk"
    problem.source_organisation.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = report(client, record, problem)

    correction = CorrectionRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal:correction_detail", args=[record.person.pk, correction.reference])
    assert correction.status == "received"
    assert correction.organisation == problem.source_organisation
    assert correction.reporter == gp.user
    assert correction.reported_resource == problem.resource
    assert correction.reported_source_updated_at == problem.source_updated_at
    (email,) = mail.outbox
    assert email.to == ["dpo@practice.example.nhs.uk"]
    assert correction.reference in email.subject
    assert correction.reference in email.body
    for secret in (record.person.family_name, record.person.nhs_number, "diabetes", "2018"):
        assert secret.lower() not in (email.subject + email.body).lower(), secret
    assert CorrectionRequest.objects.get().notified_at is not None


def test_the_record_itself_is_not_changed(client, record, gp):
    problem = record.entries["problem"]
    before = Entry.objects.filter(pk=problem.pk).values().get()

    report(client, record, problem)

    assert Entry.objects.filter(pk=problem.pk).values().get() == before


def test_an_empty_or_vague_report_is_refused_with_a_reason(client, record, gp):
    response = report(client, record, record.entries["problem"], text="wrong")

    assert response.status_code == 200
    assert "Describe what is wrong in a few words" in response.content.decode()
    assert not CorrectionRequest.objects.exists()


def test_the_reporter_follows_the_status_and_others_cannot(client, record, gp):
    report(client, record, record.entries["problem"])
    correction = CorrectionRequest.objects.get()
    status_url = reverse("portal:correction_detail", args=[record.person.pk, correction.reference])

    mine = client.get(reverse("portal:correction_list")).content.decode()
    page = client.get(status_url).content.decode()

    assert correction.reference in mine
    assert "Received" in page
    assert "diagnosed in 2018" in page
    assert record.person.display_name not in mine  # the list names no one
    assert record.person.nhs_number_display not in mine
    colleague = clinician_for(record, code="practice-nurse")
    client.force_login(colleague.user)
    assert client.get(status_url).status_code == 404


class TestQueue:
    @pytest.fixture
    def correction(self, client, record, gp):
        report(client, record, record.entries["problem"])
        return CorrectionRequest.objects.get()

    @pytest.fixture
    def admin_client(self, client, correction):
        admin = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(admin)
        return client

    def test_sent_then_corrected_by_admin_actions(self, admin_client, correction):
        changelist = reverse("admin:records_correctionrequest_changelist")

        admin_client.post(changelist, {"action": "mark_sent", "_selected_action": [correction.pk]})
        correction.refresh_from_db()
        assert correction.status == "sent_to_source"
        assert correction.sent_at is not None

        admin_client.post(changelist, {"action": "mark_corrected", "_selected_action": [correction.pk]})
        correction.refresh_from_db()
        assert correction.status == "corrected_at_source"
        assert correction.resolved_at is not None

    def test_declining_needs_a_reason_that_the_reporter_then_reads(
        self, admin_client, client, record, gp, correction
    ):
        change = reverse("admin:records_correctionrequest_change", args=[correction.pk])

        refused = admin_client.post(change, {"outcome": "declined", "decline_reason": ""})
        assert "Give the reason for declining" in refused.content.decode()
        correction.refresh_from_db()
        assert correction.status == "received"

        admin_client.post(
            change, {"outcome": "declined", "decline_reason": "The practice confirms 2015 is right."}
        )
        correction.refresh_from_db()
        assert correction.status == "declined"

        client.force_login(gp.user)
        page = client.get(reverse("portal:correction_detail", args=[record.person.pk, correction.reference]))
        assert "The practice confirms 2015 is right." in page.content.decode()

    def test_a_closed_request_cannot_be_reopened(self, admin_client, correction):
        changelist = reverse("admin:records_correctionrequest_changelist")
        admin_client.post(changelist, {"action": "mark_corrected", "_selected_action": [correction.pk]})

        admin_client.post(changelist, {"action": "mark_sent", "_selected_action": [correction.pk]})

        correction.refresh_from_db()
        assert correction.status == "corrected_at_source"

    def test_the_queue_lists_open_requests(self, admin_client, correction):
        page = admin_client.get(
            reverse("admin:records_correctionrequest_changelist") + "?status__exact=received"
        )

        assert correction.reference in page.content.decode()


def test_newer_data_from_the_source_is_shown_beside_what_was_reported(client, record, gp):
    problem = record.entries["problem"]
    report(client, record, problem)
    correction = CorrectionRequest.objects.get()
    status_url = reverse("portal:correction_detail", args=[record.person.pk, correction.reference])
    assert "has sent a newer version" not in client.get(status_url).content.decode()

    # The source corrects the onset date and sends the entry again (as a feed's newer-wins upsert would).
    corrected = {**problem.resource, "onsetDateTime": "2018-04-01"}
    Entry.objects.filter(pk=problem.pk).update(
        resource=corrected,
        summary="Type 2 diabetes mellitus (since 1 Apr 2018)",
        source_updated_at=problem.source_updated_at + timedelta(days=2),
    )
    page = client.get(status_url).content.decode()

    assert "has sent a newer version" in page
    assert "Type 2 diabetes mellitus (since 3 Mar 2015)" in page  # as reported
    assert "Type 2 diabetes mellitus (since 1 Apr 2018)" in page  # now
    assert "1 Apr 2018" in page


def test_the_privacy_officer_raises_a_citizens_request_in_admin(
    client, record, django_capture_on_commit_callbacks
):
    officer = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(officer)
    problem = record.entries["problem"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:records_correctionrequest_add"),
            {
                "entry": problem.pk,
                "what_is_wrong": "I have never had diabetes",
                "on_behalf_of": "The person, by letter of 2 Dec",
            },
        )

    assert response.status_code == 302
    correction = CorrectionRequest.objects.get()
    assert correction.reporter == officer
    assert correction.on_behalf_of == "The person, by letter of 2 Dec"
    assert correction.organisation == problem.source_organisation
    assert correction.reported_resource == problem.resource
    assert correction.reference in mail.outbox[0].body


def test_the_entry_page_says_it_was_reported_and_links_to_the_request(client, record, gp):
    problem = record.entries["problem"]
    report(client, record, problem)
    correction = CorrectionRequest.objects.get()

    page = client.get(reverse("portal:entry_detail", args=[record.person.pk, problem.pk])).content.decode()

    assert f"{correction.reference}</a>, received." in page
