"""Onboarding a source in Django admin: a token shown once, revoked, going live, and quiet feeds."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ingestion.services.sources import source_system_authenticate, source_system_feed_state
from records.models import SourceSystem
from tests.records.factories import SourceSystemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _token_on(response) -> str:
    match = re.search(rb'<code id="source-token"[^>]*>([^<]+)</code>', response.content)
    assert match, response.content
    return match.group(1).decode()


class TestToken:
    def test_issuing_shows_the_token_once_and_keeps_only_its_hash(self, engineer_client):
        source = SourceSystemFactory(kind=SourceSystem.Kind.FHIR)
        url = reverse("admin:records_sourcesystem_token", args=[source.pk])

        confirm = engineer_client.get(url)
        issued = engineer_client.post(url)

        assert b"shown once" in confirm.content
        token = _token_on(issued)
        assert "no-store" in issued["Cache-Control"]
        source.refresh_from_db()
        assert token not in source.token_hash
        assert source.token_matches(token)
        assert source_system_authenticate(token=token) == source
        page = engineer_client.get(reverse("admin:records_sourcesystem_change", args=[source.pk]))
        assert token.encode() not in page.content
        assert b"Revoke the token" in page.content

    def test_a_new_token_replaces_the_old_one(self, engineer_client):
        source = SourceSystemFactory(kind=SourceSystem.Kind.FHIR)
        url = reverse("admin:records_sourcesystem_token", args=[source.pk])
        first = _token_on(engineer_client.post(url))
        second = _token_on(engineer_client.post(url))

        assert first != second
        assert source_system_authenticate(token=first) is None
        assert source_system_authenticate(token=second) == source

    def test_revoking_stops_the_token_working(self, engineer_client):
        source = SourceSystemFactory(kind=SourceSystem.Kind.FHIR)
        token = _token_on(engineer_client.post(reverse("admin:records_sourcesystem_token", args=[source.pk])))
        url = reverse("admin:records_sourcesystem_revoke", args=[source.pk])

        assert b"refused (401)" in engineer_client.get(url).content
        assert source_system_authenticate(token=token) == source  # a GET changes nothing
        response = engineer_client.post(url, follow=True)

        assert source_system_authenticate(token=token) is None
        assert b"is revoked" in response.content
        assert b"revoked" in response.content

    def test_staff_without_the_change_permission_cannot_issue(self, client):
        source = SourceSystemFactory(kind=SourceSystem.Kind.FHIR)
        client.force_login(UserFactory(is_staff=True))

        response = client.post(reverse("admin:records_sourcesystem_token", args=[source.pk]))

        assert response.status_code == 403
        source.refresh_from_db()
        assert not source.token_hash


class TestGoLive:
    def test_a_new_source_starts_in_test_and_goes_live_only_after_confirmation(self, engineer_client):
        source = SourceSystemFactory(mode=SourceSystem.Mode.TEST)
        url = reverse("admin:records_sourcesystem_go_live", args=[source.pk])

        page = engineer_client.get(reverse("admin:records_sourcesystem_change", args=[source.pk]))
        assert b"Go live" in page.content
        confirm = engineer_client.get(url)
        source.refresh_from_db()
        assert b"becomes visible in the record" in confirm.content
        assert source.mode == SourceSystem.Mode.TEST

        done = engineer_client.post(url, follow=True)

        source.refresh_from_db()
        assert source.mode == SourceSystem.Mode.LIVE
        assert b"is live" in done.content
        assert b"Go live</a>" not in done.content

    def test_the_mode_cannot_be_changed_by_editing_the_form(self, engineer_client):
        source = SourceSystemFactory(mode=SourceSystem.Mode.TEST)
        page = engineer_client.get(reverse("admin:records_sourcesystem_change", args=[source.pk]))

        assert b'name="mode"' not in page.content


class TestQuietFeed:
    def test_a_live_feed_silent_past_its_interval_is_flagged_in_the_list(self, engineer_client):
        now = timezone.now()
        quiet = SourceSystemFactory(
            name="Quiet PAS", last_message_at=now - timedelta(hours=3), expected_interval=timedelta(hours=1)
        )
        SourceSystemFactory(
            name="Busy lab", last_message_at=now - timedelta(minutes=5), expected_interval=timedelta(hours=1)
        )
        SourceSystemFactory(name="New GP system", mode=SourceSystem.Mode.TEST, last_message_at=None)

        response = engineer_client.get(reverse("admin:records_sourcesystem_changelist"))

        text = response.content.decode()
        assert f"{quiet.name} ({quiet.code}) is quiet: nothing for 3 hours" in text
        assert "Busy lab (" not in text.split('class="messagelist"')[1].split("</ul>")[0]
        assert "test mode: not watched" in text

    @pytest.mark.parametrize(
        ("mode", "silent", "quiet"),
        [
            (SourceSystem.Mode.LIVE, timedelta(minutes=59), False),
            (SourceSystem.Mode.LIVE, timedelta(minutes=61), True),
            (SourceSystem.Mode.LIVE, None, True),
            (SourceSystem.Mode.TEST, timedelta(days=3), False),
        ],
    )
    def test_feed_state(self, mode, silent, quiet):
        now = timezone.now()
        source = SourceSystemFactory.build(
            mode=mode,
            expected_interval=timedelta(hours=1),
            last_message_at=None if silent is None else now - silent,
        )

        assert source_system_feed_state(source=source, now=now).quiet is quiet
