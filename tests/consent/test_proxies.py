"""Carers and legal proxies: authority recorded with the evidence seen, dates and who verified it; where the
person lacks capacity the proxy can let a named professional see the record, for at most 90 days, audited."""

from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from consent.models import LegalProxy, ProxyPermission
from consent.services import legal_proxy_record, proxy_permission_give, proxy_permission_revoke
from records.access import Basis, access_basis, person_open
from tests.records.access_factories import actor_at, role
from tests.records.factories import OrganisationFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def proxy_for(person, officer, **fields) -> LegalProxy:
    values = {
        "person": person,
        "name": "Helen Marsh",
        "relationship": "Daughter",
        "authority": "lpa_health",
        "evidence_seen": "LPA for health and welfare, stamped by the Office of the Public Guardian",
        "evidence_reference": "7000-1234-5678",
        "valid_from": date(2024, 5, 1),
        "person_lacks_capacity": True,
        "capacity_assessment": "Dr Patel, 3 November 2026: cannot decide about sharing the record",
        **fields,
    }
    return legal_proxy_record(proxy=LegalProxy(**values), verified_by=officer)


@pytest.fixture
def professional():
    """A community nurse with no care relationship of their own."""
    return actor_at(OrganisationFactory(name="Weymouth Community Hospital"), role_=role("community-nurse"))


def test_the_officer_records_a_proxy_with_the_evidence_seen_and_is_named_as_verifier(officer_client, officer):
    person = PersonFactory()
    form = {
        "person": person.pk,
        "name": "Tom Reyes",
        "relationship": "Son",
        "authority": "deputy",
        "evidence_seen": "Court of Protection order appointing a personal welfare deputy",
        "evidence_reference": "COP 1234567",
        "valid_from": "01/06/2025",
        "valid_until": "01/06/2030",
        "person_lacks_capacity": "on",
        "capacity_assessment": "Assessed by the court",
        "permissions-TOTAL_FORMS": "0",
        "permissions-INITIAL_FORMS": "0",
    }

    unconfirmed = officer_client.post(reverse("admin:consent_legalproxy_add"), form)
    confirmed = officer_client.post(
        reverse("admin:consent_legalproxy_add"), {**form, "evidence_confirmed": "on"}
    )

    assert unconfirmed.status_code == 200
    assert confirmed.status_code == 302
    proxy = LegalProxy.objects.get()
    assert (proxy.verified_by, proxy.valid_until) == (officer, date(2030, 6, 1))
    assert timezone.now() - proxy.verified_at < timedelta(minutes=1)
    assert LogEntry.objects.get_for_object(proxy).get().actor == officer


def test_a_proxy_lets_a_named_professional_see_the_record_for_a_limited_time(officer, professional):
    person = PersonFactory()
    proxy = proxy_for(person, officer)
    assert access_basis(actor=professional, person=person) is None

    permission = proxy_permission_give(
        proxy=proxy,
        professional=professional.user,
        reason="Community nursing visits after discharge",
        expires_at=timezone.now() + timedelta(days=30),
        recorded_by=officer,
    )

    assert access_basis(actor=professional, person=person) == Basis.GRANTED
    assert permission.grant.expires_at == permission.expires_at
    assert "Permission from Helen Marsh" in permission.grant.reason
    opened = person_open(actor=professional, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD)
    assert opened.access_event.basis == "granted"
    log = LogEntry.objects.get_for_object(permission).get()
    assert log.actor == officer


def test_the_permission_ends_when_revoked(officer, professional):
    person = PersonFactory()
    permission = proxy_permission_give(
        proxy=proxy_for(person, officer),
        professional=professional.user,
        reason="Visits",
        expires_at=timezone.now() + timedelta(days=10),
        recorded_by=officer,
    )

    proxy_permission_revoke(permission=permission, revoked_by=officer)

    assert access_basis(actor=professional, person=person) is None
    assert ProxyPermission.objects.get().revoked_at is not None


def test_the_permission_lapses_at_its_expiry(officer, professional):
    person = PersonFactory()
    permission = proxy_permission_give(
        proxy=proxy_for(person, officer),
        professional=professional.user,
        reason="Visits",
        expires_at=timezone.now() + timedelta(days=1),
        recorded_by=officer,
    )
    type(permission.grant).objects.filter(pk=permission.grant.pk).update(expires_at=timezone.now())

    assert access_basis(actor=professional, person=person) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"person_lacks_capacity": False}, "ask them, not their proxy"),
        ({"valid_until": date(2025, 1, 1), "valid_from": date(2024, 1, 1)}, "not in force"),
        ({"revoked_at": timezone.now()}, "not in force"),
    ],
)
def test_a_proxy_without_standing_today_cannot_give_permission(officer, professional, fields, message):
    proxy = proxy_for(PersonFactory(), officer, **fields)

    with pytest.raises(ValidationError, match=message):
        proxy_permission_give(
            proxy=proxy,
            professional=professional.user,
            reason="Visits",
            expires_at=timezone.now() + timedelta(days=5),
            recorded_by=officer,
        )


def test_parental_responsibility_ends_at_eighteen(officer, professional):
    adult = PersonFactory(date_of_birth=date(2000, 1, 1))
    child = PersonFactory(date_of_birth=timezone.localdate() - timedelta(days=365 * 6))

    with pytest.raises(ValidationError, match="Parental responsibility ends at 18"):
        proxy_permission_give(
            proxy=proxy_for(adult, officer, authority="parental"),
            professional=professional.user,
            reason="x",
            expires_at=timezone.now() + timedelta(days=5),
            recorded_by=officer,
        )
    proxy_permission_give(
        proxy=proxy_for(child, officer, authority="parental"),
        professional=professional.user,
        reason="School nurse",
        expires_at=timezone.now() + timedelta(days=5),
        recorded_by=officer,
    )
    assert access_basis(actor=professional, person=child) == Basis.GRANTED


def test_no_permission_lasts_longer_than_90_days(officer, professional, officer_client):
    proxy = proxy_for(PersonFactory(), officer)

    with pytest.raises(ValidationError, match="at most 90 days"):
        proxy_permission_give(
            proxy=proxy,
            professional=professional.user,
            reason="x",
            expires_at=timezone.now() + timedelta(days=91),
            recorded_by=officer,
        )
    form = officer_client.post(
        reverse("admin:consent_proxypermission_add"),
        {"proxy": proxy.pk, "professional": professional.user.pk, "reason": "x", "days": "120"},
    )
    assert form.status_code == 200
    assert not ProxyPermission.objects.exists()
    now = timezone.now()
    with pytest.raises(IntegrityError):
        ProxyPermission.objects.create(
            proxy=proxy,
            professional=professional.user,
            reason="x",
            granted_at=now,
            expires_at=now + timedelta(days=91),
        )


def test_the_officer_records_a_permission_in_admin(officer_client, officer, professional):
    person = PersonFactory()
    proxy = proxy_for(person, officer)

    response = officer_client.post(
        reverse("admin:consent_proxypermission_add"),
        {"proxy": proxy.pk, "professional": professional.user.pk, "reason": "Memory clinic", "days": "60"},
    )
    refused = officer_client.post(
        reverse("admin:consent_proxypermission_add"),
        {
            "proxy": proxy_for(PersonFactory(), officer, person_lacks_capacity=False).pk,
            "professional": professional.user.pk,
            "reason": "x",
            "days": "10",
        },
    )

    assert response.status_code == 302
    permission = ProxyPermission.objects.get()
    assert permission.recorded_by == officer
    assert timedelta(days=59) < permission.expires_at - timezone.now() <= timedelta(days=60)
    assert access_basis(actor=professional, person=person) == Basis.GRANTED
    assert "ask them, not their proxy" in refused.content.decode()
