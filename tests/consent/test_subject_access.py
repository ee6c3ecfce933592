"""The subject-access pack: a readable PDF of everything held and where it came from, the same as a FHIR R4
Bundle, and everyone who viewed the record. Producing it is itself audited."""

import io
import json
import zipfile
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AccessEvent
from consent.models import LegalProxy, SubjectAccessRequest, one_month_after
from consent.services import OptOutDetails, opt_out_approve, opt_out_register
from consent.subject_access import validate_bundle
from records.access import person_for, person_open
from tests.records.access_factories import actor_at, entry, role
from tests.records.factories import (
    GpPracticeFactory,
    LocalIdentifierFactory,
    OrganisationFactory,
    PersonAddressFactory,
    PersonFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, first_name="Priya", last_name="Officer"))
    return client


@pytest.fixture
def record():
    practice = GpPracticeFactory(name="Fordington Surgery")
    hospital = OrganisationFactory(name="Dorset County Hospital NHS Foundation Trust", ods_code="RBD")
    pas = SourceSystemFactory(organisation=hospital, name="Hospital PAS")
    person = PersonFactory(
        registered_practice=practice,
        given_names="Ștefan",
        family_name="Wiśniewski-Zoë",
        date_of_birth=date(1948, 11, 30),
        field_provenance={"family_name": {"source": pas.pk, "at": "2026-01-01T00:00:00+00:00"}},
    )
    PersonAddressFactory(person=person, postcode="DT1 2JY", source_system=pas)
    LocalIdentifierFactory(person=person, value="RBD0012345", source_system=pas)
    entry(person, practice, summary="Atrial fibrillation")
    LegalProxy.objects.create(
        person=person,
        name="Ana Wiśniewska",
        authority="lpa_health",
        evidence_seen="LPA stamped by the Office of the Public Guardian",
        valid_from=date(2025, 1, 1),
        verified_at=timezone.now(),
    )
    entry(person, hospital, source=pas, category="encounter", summary="Admitted to Barnes ward")
    gp = actor_at(practice, role_=role("gp"))
    gp.user.first_name, gp.user.last_name = "Grace", "Hopper"
    gp.user.save()
    person_open(
        actor=gp, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD, detail={"page": "record"}
    )
    stranger = actor_at(OrganisationFactory(name="Elsewhere Trust"), role_=role("nurse"))
    with pytest.raises(Exception, match=str(person.pk)):
        person_for(actor=stranger, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD)
    return person


def request_for(nhs_number: str) -> SubjectAccessRequest:
    return SubjectAccessRequest.objects.create(
        reference="SAR-TEST-0001", nhs_number=nhs_number, requested_by="The person, by letter"
    )


def download(client, sar, kind):
    response = client.get(reverse("admin:consent_subjectaccessrequest_pack", args=[sar.pk, kind]))
    assert response.status_code == 200, response.content[:500]
    return response


def test_the_pdf_shows_everything_held_and_where_it_came_from(officer_client, record):
    sar = request_for(record.nhs_number)

    response = download(officer_client, sar, "pdf")

    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    for expected in (
        "Wiśniewski-Zoë",  # diacritics print
        "Ștefan",
        "DT1 2JY",
        "RBD0012345",
        "Atrial fibrillation",
        "Admitted to Barnes ward",
        "Dorset County Hospital NHS Foundation Trust: Hospital PAS",  # where each item came from
        "Grace Hopper",  # who viewed it
        "Elsewhere Trust",  # and who was refused
        "Information Commissioner",
        "Ana Wiśniewska",  # who may act for them
        "Lasting power of attorney for health and welfare",
        "SAR-TEST-0001",
    ):
        assert expected in text, expected


def test_the_fhir_bundle_validates_and_carries_the_record_its_sources_and_the_viewers(officer_client, record):
    sar = request_for(record.nhs_number)

    bundle = json.loads(download(officer_client, sar, "fhir").content)

    validate_bundle(bundle)
    kinds = [item["resource"]["resourceType"] for item in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("Condition") == 2  # both entries, as the sources sent them
    assert kinds.count("Provenance") == 2  # one per source system
    # the GP's view, the refusal, and producing this pack
    assert kinds.count("AuditEvent") == AccessEvent.objects.filter(person_id=record.pk).count() == 3
    patient = next(i["resource"] for i in bundle["entry"] if i["resource"]["resourceType"] == "Patient")
    assert patient["identifier"][0]["value"] == record.nhs_number
    assert patient["name"][0]["family"] == "Wiśniewski-Zoë"
    assert "network" not in json.dumps(bundle)  # staff devices' addresses stay in the trail


def test_the_access_list_names_who_when_role_organisation_and_basis(officer_client, record):
    sar = request_for(record.nhs_number)

    rows = download(officer_client, sar, "viewers").content.decode().splitlines()

    assert rows[0] == "When,Who,Role,Organisation,What,Outcome,Basis"
    assert len(rows) == 4
    assert "Grace Hopper" in rows[1]
    assert ",GP," in rows[1]
    assert "registered practice" in rows[1]
    assert "Denied" in rows[2]
    assert "Subject access request SAR-TEST-0001" in rows[3]


def test_producing_the_pack_is_audited_and_the_request_marked_produced(officer_client, record):
    sar = request_for(record.nhs_number)

    archive = zipfile.ZipFile(io.BytesIO(download(officer_client, sar, "zip").content))

    assert sorted(archive.namelist()) == [
        "SAR-TEST-0001-record.fhir.json",
        "SAR-TEST-0001-record.pdf",
        "SAR-TEST-0001-who-viewed.csv",
    ]
    event = AccessEvent.objects.get(action=AccessEvent.Action.EXPORT)
    assert (event.person_id, event.basis) == (record.pk, "subject_access")
    assert event.detail == {"page": "subject_access_pack", "reference": "SAR-TEST-0001", "entries": 2}
    sar.refresh_from_db()
    assert sar.status == "produced"
    assert sar.produced_by is not None


def test_after_an_opt_out_the_pack_holds_nothing_but_who_viewed_before(officer_client, record):
    nhs_number = record.nhs_number
    opt_out_approve(
        opt_out=opt_out_register(
            details=OptOutDetails(
                given_names="Ștefan",
                family_name="Wiśniewski-Zoë",
                date_of_birth=date(1948, 11, 30),
                address="x",
                postcode="DT1 2JY",
                declaration=True,
                nhs_number=nhs_number,
            ),
            channel="post",
        ),
        decided_by=UserFactory(),
        person=record,
    )
    sar = request_for(nhs_number)

    text = " ".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(download(officer_client, sar, "pdf").content)).pages
    )
    bundle = json.loads(download(officer_client, sar, "fhir").content)

    assert "holds no demographics or entries" in " ".join(text.split())
    assert "Grace Hopper" in text
    validate_bundle(bundle)
    assert {i["resource"]["resourceType"] for i in bundle["entry"]} == {"AuditEvent"}


def test_the_privacy_officer_records_a_request_and_sees_when_the_reply_is_due(officer_client):
    response = officer_client.post(
        reverse("admin:consent_subjectaccessrequest_add"),
        {
            "nhs_number": "999 000 0018",
            "requested_by": "The person, by email",
            "received_on": "31/01/2027",
            "identity_checked_on": "",
            "status": "received",
            "notes": "",
        },
    )

    assert response.status_code == 302
    sar = SubjectAccessRequest.objects.get()
    assert sar.reference.startswith("SAR-")
    assert sar.nhs_number == "9990000018"
    assert sar.due_on == date(2027, 2, 28)  # one month, to the month's last day
    page = officer_client.get(reverse("admin:consent_subjectaccessrequest_change", args=[sar.pk]))
    assert b"Each download is written to the access trail" in page.content


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 1, 15), date(2027, 2, 15)),
        (date(2027, 12, 31), date(2028, 1, 31)),
        (date(2028, 1, 30), date(2028, 2, 29)),
    ],
)
def test_one_month_runs_to_the_same_date_next_month(received, due):
    assert one_month_after(received) == due
