"""POST /ingest/fhir/: who may send, what is refused and how, and what is stored."""

import copy
import json

import pytest
from django.test import Client
from django.urls import reverse

from ingestion.fhir import xml_to_json
from ingestion.models import InboundMessage
from ingestion.services.sources import source_system_token_issue
from records.fhir import validate_resource
from records.models import Entry, Person, SourceSystem
from tests.ingestion import FIXTURES
from tests.records.factories import OrganisationFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

URL = "/ingest/fhir/"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
LAB = "https://lab.example.nhs.uk/Id/result"
PATIENT_URL = "urn:uuid:7d1f1a52-1f1c-4a55-9c37-0f4b1a0b2c01"


@pytest.fixture
def source(db) -> SourceSystem:
    organisation = OrganisationFactory(ods_code="RBD", name="Dorset County Hospital")
    return SourceSystemFactory(organisation=organisation, code="rbd-fhir", kind=SourceSystem.Kind.FHIR)


@pytest.fixture
def token(source) -> str:
    return source_system_token_issue(source=source)


def post(client: Client, body, *, token: str | None, content_type: str = "application/fhir+json", **extra):
    data = json.dumps(body) if isinstance(body, dict) else body
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(URL, data=data, content_type=content_type, headers=headers, **extra)


def observation(n: int, *, value: float = 5.0, status: str = "final", subject=None) -> dict:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": LAB, "value": f"R{n}"}],
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "1000651000000109", "display": "Potassium"}
            ]
        },
        "subject": subject or {"reference": PATIENT_URL},
        "effectiveDateTime": "2026-11-20T09:30:00+00:00",
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org"},
    }


def bundle(*resources, kind="transaction", timestamp="2026-11-21T10:00:00+00:00", nhs="9990000018") -> dict:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS, "value": nhs}],
        "name": [{"family": "Hardy", "given": ["Thomas"]}],
        "birthDate": "1940-06-02",
    }
    entries = [{"fullUrl": PATIENT_URL, "resource": patient, "request": {"method": "POST", "url": "Patient"}}]
    for n, resource in enumerate(resources):
        entries.append(
            {
                "fullUrl": f"urn:uuid:7d1f1a52-1f1c-4a55-9c37-0f4b1a0b3{n:03d}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": kind, "timestamp": timestamp, "entry": entries}


def issues_of(response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    validate_resource(body)
    return body["issue"]


class TestAuthentication:
    @pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
    def test_no_or_an_unknown_token_is_401_and_nothing_is_read_or_stored(self, client, source, authorization):
        headers = {"Authorization": authorization} if authorization else {}
        response = client.post(
            URL,
            data=json.dumps(bundle(observation(1))),
            content_type="application/fhir+json",
            headers=headers,
        )

        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert issues_of(response)[0]["code"] == "login"
        assert not InboundMessage.objects.exists()
        assert not Entry.objects.exists()

    def test_a_revoked_token_is_401(self, client, source, token):
        from ingestion.services.sources import source_system_token_revoke

        source_system_token_revoke(source=source)

        response = post(client, bundle(observation(1)), token=token)

        assert response.status_code == 401
        assert not InboundMessage.objects.exists()

    def test_the_endpoint_needs_no_session_or_csrf_token(self, source, token):
        client = Client(enforce_csrf_checks=True)

        response = post(client, bundle(observation(1)), token=token)

        assert response.status_code == 200

    def test_get_is_405_with_an_operation_outcome(self, client):
        response = client.get(URL)

        assert response.status_code == 405
        assert response["Allow"] == "POST"
        issues_of(response)


class TestRefusals:
    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/csv"])
    def test_a_content_type_other_than_fhir_is_415(self, client, token, content_type):
        response = post(client, bundle(observation(1)), token=token, content_type=content_type)

        assert response.status_code == 415
        assert "application/fhir+json" in issues_of(response)[0]["diagnostics"]
        assert not InboundMessage.objects.exists()

    def test_another_fhir_version_is_415(self, client, token):
        response = post(
            client, bundle(observation(1)), token=token, content_type="application/fhir+json; fhirVersion=5.0"
        )

        assert response.status_code == 415

    def test_a_body_over_the_limit_is_413_without_being_stored(self, client, token, settings):
        settings.DCR_FHIR_MAX_BODY_BYTES = 1000

        response = post(client, bundle(*[observation(n) for n in range(20)]), token=token)

        assert response.status_code == 413
        assert "1,000 bytes" in issues_of(response)[0]["diagnostics"]
        assert not InboundMessage.objects.exists()

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ('{"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resou', "truncated"),
            ("this is not json", "not valid JSON"),
            ("   ", "expected"),
            ("[1, 2, 3]", "expected '{'"),
        ],
    )
    def test_a_truncated_or_non_json_body_is_400_and_kept_in_the_ledger_as_failed(
        self, client, token, body, says
    ):
        response = post(client, body, token=token)

        assert response.status_code == 400
        assert says in issues_of(response)[0]["diagnostics"]
        message = InboundMessage.objects.get()
        assert message.status == InboundMessage.Status.FAILED
        assert bytes(message.payload) == body.encode()
        assert not Entry.objects.exists()

    def test_malformed_xml_is_400(self, client, token):
        response = post(
            client,
            "<Bundle xmlns='http://hl7.org/fhir'><type value=",
            token=token,
            content_type="application/fhir+xml",
        )

        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/fhir+xml")
        answer = xml_to_json(response.content)  # the answer is FHIR XML the project's own reader takes
        assert answer["resourceType"] == "OperationOutcome"
        validate_resource(answer)

    def test_an_invalid_resource_is_422_naming_the_resource_and_element_and_nothing_is_stored(
        self, client, token
    ):
        body = bundle(observation(1), observation(2, status=["final"]), observation(3))

        response = post(client, body, token=token)

        assert response.status_code == 422
        [issue] = [i for i in issues_of(response) if i["severity"] == "error"]
        assert issue["expression"] == ["Bundle.entry[2].resource.ofType(Observation).status"]
        assert "Observation.status" in issue["diagnostics"]
        assert not Entry.objects.exists()
        assert not Person.objects.exists()
        assert InboundMessage.objects.get().status == InboundMessage.Status.FAILED

    def test_a_bundle_type_not_accepted_is_422(self, client, token):
        response = post(client, bundle(observation(1), kind="history"), token=token)

        assert response.status_code == 422
        assert issues_of(response)[0]["expression"] == ["Bundle.type"]


class TestStoring:
    def test_a_transaction_is_stored_and_answered_entry_by_entry(self, client, source, token):
        response = post(client, bundle(observation(1), observation(2)), token=token)

        assert response.status_code == 200
        answer = response.json()
        validate_resource(answer)
        assert answer["type"] == "transaction-response"
        assert [e["response"]["status"] for e in answer["entry"]] == ["200 OK", "201 Created", "201 Created"]
        person = Person.objects.get(nhs_number="9990000018")
        assert person.family_name == "Hardy"
        assert set(Entry.objects.filter(person=person).values_list("business_key", flat=True)) == {
            f"Observation|{LAB}|R1",
            f"Observation|{LAB}|R2",
        }
        message = InboundMessage.objects.get()
        assert message.status == InboundMessage.Status.APPLIED
        assert message.channel == InboundMessage.Channel.HTTP
        assert response["X-Message-Id"] == str(message.pk)

    def test_the_same_bundle_sent_twice_stores_nothing_twice(self, client, token):
        body = bundle(observation(1), observation(2))
        post(client, body, token=token)

        again = post(client, body, token=token)

        assert again.status_code == 200
        assert [e["response"]["status"] for e in again.json()["entry"][1:]] == ["200 OK", "200 OK"]
        assert Entry.objects.count() == 2
        assert Person.objects.count() == 1
        statuses = list(InboundMessage.objects.order_by("id").values_list("status", flat=True))
        assert statuses == ["applied", "duplicate"]

    def test_a_resend_with_a_new_timestamp_updates_the_same_entries(self, client, token):
        post(client, bundle(observation(1, value=5.0)), token=token)

        response = post(
            client, bundle(observation(1, value=6.1), timestamp="2026-11-22T10:00:00+00:00"), token=token
        )

        assert response.json()["entry"][1]["response"]["status"] == "200 OK"
        entry = Entry.objects.get()
        assert entry.resource["valueQuantity"]["value"] == 6.1
        assert entry.version == 2

    def test_an_older_version_is_not_applied_and_the_answer_says_so(self, client, token):
        post(client, bundle(observation(1, value=6.1), timestamp="2026-11-22T10:00:00+00:00"), token=token)

        response = post(
            client, bundle(observation(1, value=5.0), timestamp="2026-11-20T10:00:00+00:00"), token=token
        )

        entry_response = response.json()["entry"][1]["response"]
        assert entry_response["status"] == "200 OK"
        assert "newer" in entry_response["outcome"]["issue"][0]["diagnostics"]
        assert Entry.objects.get().resource["valueQuantity"]["value"] == 6.1

    def test_a_batch_stores_the_good_entries_and_answers_the_bad_one_with_its_error(self, client, token):
        body = bundle(observation(1), observation(2, status=["final"]), kind="batch")

        response = post(client, body, token=token)

        assert response.status_code == 200
        answer = response.json()
        assert answer["type"] == "batch-response"
        bad = answer["entry"][2]["response"]
        assert bad["status"].startswith("422")
        assert bad["outcome"]["issue"][0]["expression"] == [
            "Bundle.entry[2].resource.ofType(Observation).status"
        ]
        assert answer["entry"][1]["response"]["status"] == "201 Created"
        assert list(Entry.objects.values_list("business_key", flat=True)) == [f"Observation|{LAB}|R1"]

    def test_conditional_references_to_the_patient_resolve(self, client, token):
        conditional = {"reference": f"Patient?identifier={NHS}|9990000018"}
        body = bundle(observation(1, subject=conditional))

        response = post(client, body, token=token)

        assert response.status_code == 200
        entry = Entry.objects.get()
        assert entry.person.nhs_number == "9990000018"
        assert entry.resource["subject"]["identifier"] == {"system": NHS, "value": "9990000018"}

    def test_a_conditional_reference_to_nobody_in_a_transaction_is_422_and_stores_nothing(
        self, client, token
    ):
        nobody = {"reference": "Patient?name=Hardy"}
        body = bundle(observation(1), observation(2, subject=nobody))

        response = post(client, body, token=token)

        assert response.status_code == 422
        [issue] = [i for i in issues_of(response) if i["severity"] == "error"]
        assert issue["expression"] == ["Bundle.entry[2].resource.ofType(Observation).subject"]
        assert not Entry.objects.exists()

    def test_a_source_in_test_mode_is_processed_but_changes_no_demographics(self, client, source, token):
        SourceSystem.objects.filter(pk=source.pk).update(mode=SourceSystem.Mode.TEST)

        response = post(client, bundle(observation(1)), token=token)

        assert response.status_code == 200
        assert Entry.objects.count() == 1
        assert Person.objects.get().family_name == ""


class TestCorpus:
    def test_a_uk_core_xml_example_is_taken_and_answered_in_xml(self, client, token):
        body = (FIXTURES / "uk-core/ukcore-examples/UKCore-Bundle-AllergyList-Example.xml").read_bytes()

        response = post(client, body, token=token, content_type="application/fhir+xml")

        # A collection: the allergy names a patient outside the bundle, so that entry is refused alone.
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/fhir+xml")
        answer = xml_to_json(response.content)
        validate_resource(answer)
        assert answer["type"] == "batch-response"
        statuses = [entry["response"]["status"] for entry in answer["entry"]]
        assert statuses == ["200 OK", "422 Unprocessable Entity"]

    @pytest.mark.parametrize(
        "name",
        [
            "UKCore-AllergyIntolerance-Amoxicillin-Example.xml",
            "UKCore-Encounter-InpatientEncounter-Example.xml",
        ],
    )
    def test_a_lone_uk_core_xml_resource_gets_a_precise_answer(self, client, token, name):
        body = (FIXTURES / "uk-core/ukcore-examples" / name).read_bytes()

        response = post(
            client,
            body,
            token=token,
            content_type="application/fhir+xml",
            HTTP_ACCEPT="application/fhir+json",
        )

        # Each names a patient outside the body with no identifier: refused, naming the element.
        assert response.status_code == 422
        [issue] = issues_of(response)
        assert issue["expression"][0].endswith((".patient", ".subject"))

    def test_a_synthea_whole_patient_transaction_loads_with_conditional_references(
        self, client, source, token
    ):
        # Synthea's patients carry no NHS number: they are matched by the source's own patient number.
        SourceSystem.objects.filter(pk=source.pk).update(
            local_identifier_system="https://github.com/synthetichealth/synthea"
        )
        path = next((FIXTURES / "synthea/synthea-hiv").glob("Lawrence*.json"))

        response = post(client, path.read_bytes(), token=token)

        assert response.status_code == 200
        answer = response.json()
        validate_resource(answer)
        assert answer["type"] == "transaction-response"
        assert len(answer["entry"]) == len(json.loads(path.read_bytes())["entry"])
        assert Entry.objects.count() == 340
        assert Person.objects.count() == 1


def test_an_answer_is_valid_fhir_whatever_the_outcome(client, token):
    body = bundle(observation(1))
    broken = copy.deepcopy(body)
    broken["entry"][1]["resource"]["valueQuantity"]["value"] = "many"

    for sent in (body, broken, "nonsense"):
        validate_resource(post(client, sent, token=token).json())
    assert reverse("ingestion:fhir_bundle_receive") == URL
