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


class TestSocialCareUpload:
    HEADER = (
        "la_person_id,nhs_number,family_name,given_names,date_of_birth,gender,gp_practice_code,package_id,"
        "package_type,package_start,package_end,support_plan_summary,allocated_worker,team,review_date,"
        "review_type,carer_name,carer_relationship,carer_phone,provider_name,provider_phone,safeguarding_flag,"
        "last_updated"
    )
    GOOD_ROW = (
        "100234,999 000 0018,Smith,Ann Marie,1941-03-07,female,,PK-1,Home care,2026-01-12,,"
        '"Two calls a day.",Jo Bloggs,North Dorset ASC,2026-07-12,annual,'
        "Peter Smith,son,07700 900123,Wessex Home Care Ltd,01305 000000,N,2026-03-01T09:30:00Z"
    )
    BAD_ROW = "100777,9990000026,Jones,Bob,1950-05-05,,,PK-9,Shared Lives,31/02/2025,,,,,,,,,,,,,2026-02-27"

    @pytest.fixture
    def council_source(self, db):
        from records.models import Organisation
        from tests.records.factories import OrganisationFactory

        council = OrganisationFactory(
            ods_code="DC001", name="Dorset Council", kind=Organisation.Kind.COUNCIL_SOCIAL_CARE
        )
        return SourceSystemFactory(
            organisation=council,
            code="dorset-asc",
            kind=SourceSystem.Kind.CSV,
            local_identifier_system="https://fhir.dorsetcouncil.example/Id/person-id",
        )

    def upload(self, client, source, text: str, name="extract.csv"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            reverse("admin:records_sourcesystem_upload_social_care"),
            {"source": source.pk, "extract": SimpleUploadedFile(name, text.encode(), "text/csv")},
        )

    def test_the_page_is_linked_from_the_source_list(self, engineer_client):
        response = engineer_client.get(reverse("admin:records_sourcesystem_changelist"))

        assert reverse("admin:records_sourcesystem_upload_social_care").encode() in response.content

    def test_a_good_file_loads_whole(self, engineer_client, council_source):
        from records.models import Entry

        response = self.upload(engineer_client, council_source, f"{self.HEADER}\n{self.GOOD_ROW}\n")

        assert b"Loaded whole:" in response.content
        assert b"1 row of 1" in response.content
        assert Entry.objects.filter(source_system=council_source, category="care_plan").count() == 1

    def test_a_bad_row_is_reported_by_line_column_and_reason_and_the_good_rows_load(
        self, engineer_client, council_source
    ):
        from records.models import Entry

        text = f"{self.HEADER}\n{self.GOOD_ROW}\n{self.BAD_ROW}\n"

        response = self.upload(engineer_client, council_source, text)

        page = " ".join(response.content.decode().split())
        assert "1 row of 2 loaded; 1 not loaded" in page
        table = page.split('id="row-errors"')[1].split("</table>")[0]
        assert "<td>3</td><td>package_start</td>" in table
        assert "31/02/2025" in table
        assert Entry.objects.filter(source_system=council_source, category="care_plan").count() == 1

    def test_a_wrong_header_loads_nothing_and_says_which_column(self, engineer_client, council_source):
        from records.models import Entry

        text = self.HEADER.replace("package_type,", "") + "\n" + self.GOOD_ROW + "\n"

        response = self.upload(engineer_client, council_source, text)

        page = response.content.decode()
        assert "Nothing was loaded." in page
        assert "package_type" in page
        assert not Entry.objects.exists()

    def test_the_same_file_again_changes_nothing_and_says_so(self, engineer_client, council_source):
        from ingestion.models import InboundMessage

        text = f"{self.HEADER}\n{self.GOOD_ROW}\n"
        self.upload(engineer_client, council_source, text)

        response = self.upload(engineer_client, council_source, text)

        assert b"uploaded before" in response.content
        assert list(InboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
            "applied",
            "duplicate",
        ]


def test_the_list_counts_each_sources_messages_and_failures_today(engineer_client):
    from ingestion.models import InboundMessage
    from ingestion.services.ledger import message_receive

    source = SourceSystemFactory(name="Counted PAS", kind=SourceSystem.Kind.FHIR)
    for n in range(3):
        message_receive(
            channel="http", payload=b"{}%d" % n, format="fhir-json", source_system=source, enqueue=False
        )
    message_receive(
        channel="http",
        payload=b"nonsense",
        format="fhir-json",
        source_system=source,
        status=InboundMessage.Status.FAILED,
        error="not JSON",
        enqueue=False,
    )
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    InboundMessage.objects.filter(payload=b"{}0").update(received_at=yesterday)

    response = engineer_client.get(reverse("admin:records_sourcesystem_changelist"))

    row = response.content.decode().split("Counted PAS</a>")[1].split("</tr>")[0]
    assert '<td class="field-messages_today">3</td>' in row
    assert '<td class="field-failures_today">1</td>' in row
