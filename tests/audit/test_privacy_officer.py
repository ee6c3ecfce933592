"""What the privacy officer does in Django admin: who looked, what a user looked at, anomalies, reviews."""

import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, PrivacyAlert
from audit.selectors import anomaly_report
from records.access import person_open
from records.models import AccessGrant, Membership
from tests.records.access_factories import actor_at, role
from tests.records.factories import (
    GpPracticeFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonAddressFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client):
    officer = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(officer)
    return client


def open_record(actor, person):
    person_open(
        actor=actor, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD, detail={"page": "record"}
    )


def test_who_accessed_this_person_by_nhs_number(officer_client):
    practice = GpPracticeFactory()
    person, other = PersonFactory(registered_practice=practice), PersonFactory(registered_practice=practice)
    gp, nurse = actor_at(practice, role_=role("gp")), actor_at(practice, role_=role("practice-nurse"))
    open_record(gp, person)
    open_record(nurse, person)
    open_record(gp, other)

    response = officer_client.get(reverse("admin:audit_accessevent_changelist"), {"q": person.nhs_number})

    rows = response.context["cl"].result_list
    assert {e.user_display for e in rows} == {
        e.user_display for e in AccessEvent.objects.filter(person_id=person.pk)
    }
    assert len(rows) == 2


def test_exports_as_csv_and_fhir(officer_client):
    practice = GpPracticeFactory()
    person = PersonFactory(registered_practice=practice)
    open_record(actor_at(practice, role_=role("gp")), person)
    ids = list(AccessEvent.objects.values_list("pk", flat=True))
    url = reverse("admin:audit_accessevent_changelist")

    csv_response = officer_client.post(url, {"action": "export_csv", "_selected_action": ids})
    fhir_response = officer_client.post(url, {"action": "export_fhir", "_selected_action": ids})

    assert csv_response["Content-Type"] == "text/csv"
    assert person.nhs_number in csv_response.content.decode()
    bundle = json.loads(fhir_response.content)
    assert bundle["entry"][0]["resource"]["resourceType"] == "AuditEvent"


def test_the_trail_cannot_be_edited_from_admin(officer_client):
    practice = GpPracticeFactory()
    open_record(actor_at(practice, role_=role("gp")), PersonFactory(registered_practice=practice))
    event = AccessEvent.objects.get()

    response = officer_client.post(
        reverse("admin:audit_accessevent_change", args=[event.pk]), {"user_display": "x"}
    )

    assert response.status_code == 403
    assert officer_client.get(reverse("admin:audit_accessevent_delete", args=[event.pk])).status_code == 403


def test_anomaly_report_flags_surname_postcode_and_staff_records(officer_client):
    practice = GpPracticeFactory()
    gp = actor_at(practice, role_=role("gp"))
    gp.user.last_name, gp.user.home_postcode = "Pemberton", "DT1 2AB"
    gp.user.save()
    relative = PersonFactory(registered_practice=practice, family_name="Pemberton")
    neighbour = PersonFactory(registered_practice=practice)
    PersonAddressFactory(person=neighbour, postcode="DT1 2AB")
    colleague = PersonFactory(registered_practice=practice, is_staff_member=True)
    stranger = PersonFactory(registered_practice=practice)
    for person in (relative, neighbour, colleague, stranger):
        open_record(gp, person)

    kinds = sorted(a.kind for a in anomaly_report())

    assert kinds == ["same postcode", "same surname", "staff record"]
    page = officer_client.get(reverse("admin:audit_accessevent_anomalies"))
    assert b"same surname" in page.content


def test_unusual_volume_stands_out_from_colleagues():
    practice = GpPracticeFactory()
    people = [PersonFactory(registered_practice=practice) for _ in range(40)]
    busy = actor_at(practice, role_=role("gp"))
    for person in people:
        open_record(busy, person)
    for n in range(8):
        open_record(actor_at(practice, role_=role("gp")), people[n])

    volume = [a for a in anomaly_report(volume_floor=30) if a.kind == "unusual volume"]

    assert [a.user_display for a in volume] == [
        AccessEvent.objects.filter(user=busy.user).first().user_display
    ]


def test_reviewing_break_glass_records_who_reviewed_it(officer_client):
    from datetime import date

    from records.access import break_glass_grant

    person = PersonFactory(date_of_birth=date(1940, 2, 2))
    grant = break_glass_grant(
        actor=actor_at(),
        nhs_number=person.nhs_number,
        date_of_birth=date(1940, 2, 2),
        reason_code=AccessGrant.Reason.EMERGENCY_CARE,
    )

    officer_client.post(
        reverse("admin:records_accessgrant_change", args=[grant.pk]),
        {"review": "appropriate", "review_note": "Seen in ED, confirmed"},
    )

    grant.refresh_from_db()
    assert grant.review == "appropriate"
    assert grant.reviewed_by is not None
    assert PrivacyAlert.objects.get().access_grant == grant


def test_changes_to_the_rules_are_logged_by_auditlog():
    membership = MembershipFactory()
    role_ = membership.role
    role_.categories = ["appointment"]
    role_.save()
    organisation = membership.organisation
    organisation.sharing_agreement_to = timezone.localdate() + timedelta(days=5)
    organisation.save()

    assert LogEntry.objects.get_for_object(role_).filter(action=LogEntry.Action.UPDATE).exists()
    assert LogEntry.objects.get_for_object(organisation).filter(action=LogEntry.Action.UPDATE).exists()
    assert LogEntry.objects.get_for_object(membership).filter(action=LogEntry.Action.CREATE).exists()


class TestLicences:
    def test_an_account_beyond_the_partners_licences_is_refused_with_a_clear_message(self):
        partner = OrganisationFactory(name="Weymouth Hospice", licences=2)
        MembershipFactory(organisation=partner)
        MembershipFactory(organisation=partner)
        third = Membership(user=UserFactory(), organisation=partner, role=role("nurse"))

        with pytest.raises(ValidationError, match="Weymouth Hospice has used all 2 of its licences"):
            third.full_clean()

    def test_a_second_role_for_an_existing_user_uses_no_new_licence(self):
        partner = OrganisationFactory(licences=1)
        first = MembershipFactory(organisation=partner)
        Membership(user=first.user, organisation=partner, role=role("nurse")).full_clean()

    def test_admin_shows_active_users_against_licences(self, officer_client):
        partner = OrganisationFactory(licences=10)
        MembershipFactory(organisation=partner)

        response = officer_client.get(reverse("admin:records_organisation_changelist"))

        assert b"1 / 10" in response.content
