"""Every public FHIR sample goes through the parser: mapped, or refused with an issue naming its type."""

import json
import re
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from ingestion.fhir import parse_fhir
from ingestion.fhir.xml import xml_to_json
from records.fhir import validate_resource
from records.models import EntryCategory
from tests.ingestion import FIXTURES, RECEIVED, assert_valid_records, content_type_of

FILES = sorted(path for path in FIXTURES.rglob("*") if path.suffix in (".json", ".xml"))


def parse(path, received_at=RECEIVED):
    return parse_fhir(path.read_bytes(), content_type=content_type_of(path), received_at=received_at)


def resource_types_in(path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".xml":
        return set(re.findall(r"<([A-Z][A-Za-z]+)[\s>]", text))
    return set(re.findall(r'"resourceType"\s*:\s*"([A-Za-z]+)"', text))


def test_the_corpus_is_there():
    assert len(FILES) == 193


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fixture_is_mapped_or_refused_with_a_precise_issue(path):
    result = parse(path)

    validate_resource(result.outcome)
    assert_valid_records(result.records)
    items = [item for record in result.records for item in record.items]
    if result.rejected or not result.records:
        named = {issue.resource_type for issue in result.issues}
        assert named & resource_types_in(path), [issue.as_text() for issue in result.issues]
    if result.rejected:
        assert not result.records
        assert any(issue.is_error for issue in result.issues)
    for issue in result.issues:
        if issue.code == "not-supported" and issue.element:
            assert issue.resource_type in resource_types_in(path)
    assert len(items) == len({item.business_key for item in items})


class TestNhsApiExamples:
    def test_pds_patient_gives_demographics_and_the_gp_practice(self):
        result = parse(
            FIXTURES / "uk-core/pds-fhir-api/Patient.json", received_at=datetime(2025, 6, 1, tzinfo=UTC)
        )

        [record] = result.records
        patient = record.patient
        assert patient.identity.nhs_number == "9000000009"
        assert patient.identity.nhs_number_status == "01"
        assert patient.demographics == {
            "is_restricted": False,
            "nhs_number_status": "01",
            "given_names": "Jane",
            "family_name": "Smith",
            "title": "Mrs",
            "gender": "female",
            "date_of_birth": date(2010, 10, 22),
            "date_of_death": date(2010, 10, 22),
            "phone_home": "01632960587",
        }  # the e-mail address's period ended in 2022
        assert patient.registered_practice_ods == "Y12345"
        assert patient.address.postcode == "LS1 6AE"
        assert patient.address.lines.splitlines()[0] == "1 Trevelyan Square"
        extension = patient.resource["identifier"][0]["extension"][0]
        assert extension["valueCodeableConcept"]["coding"][0]["system"].endswith("VerificationStatusEngland")
        assert not record.items

    def test_pds_patient_address_and_phone_whose_period_has_ended_are_not_current(self):
        [record] = parse(FIXTURES / "uk-core/pds-fhir-api/Patient.json").records

        assert record.patient.address is None
        assert "phone_home" not in record.patient.demographics
        assert record.patient.demographics["family_name"] == "Smith"

    def test_bars_booking_maps_the_appointment_to_the_patient_later_in_the_bundle(self):
        [record] = parse(FIXTURES / "uk-core/bars/process_message-POST-body.json").records

        assert record.patient.identity.nhs_number == "9476719931"
        assert record.patient.identity.nhs_number_status == "01"  # slug code in the retired system
        [item] = record.items
        assert item.category == EntryCategory.APPOINTMENT
        assert item.status == "booked"
        assert item.occurred_at == datetime(2021, 10, 12, 12, 30, 30, tzinfo=UTC)
        assert item.business_key == "Appointment|urn:uuid:aca94bdb-2e38-4399-9ece-2ba083ce65b5"
        assert item.source_updated_at == datetime(2021, 10, 11, 15, 1, 30, tzinfo=UTC)

    def test_bars_appointments_whose_patient_is_elsewhere_are_refused_with_the_entry(self):
        result = parse(FIXTURES / "uk-core/bars/appointment-GET-success.json")

        assert not result.records
        assert not result.rejected
        errors = [issue.as_fhir() for issue in result.issues if issue.is_error]
        assert [e["expression"] for e in errors] == [
            ["Bundle.entry[0].resource.ofType(Appointment).participant.actor"],
            ["Bundle.entry[1].resource.ofType(Appointment).participant.actor"],
        ]
        assert {e["code"] for e in errors} == {"not-found"}

    def test_eps_prescription_maps_four_dmd_medicines(self):
        [record] = parse(
            FIXTURES / "uk-core/eps/primary-care-acute-nominated-1-Process-Request-Send-200_OK.json"
        ).records

        assert record.patient.identity.nhs_number == "5839945242"
        assert [(i.category, i.code_system, i.code) for i in record.items] == [
            (EntryCategory.MEDICATION, "http://snomed.info/sct", "39732311000001104"),
            (EntryCategory.MEDICATION, "http://snomed.info/sct", "322341003"),
            (EntryCategory.MEDICATION, "http://snomed.info/sct", "321080004"),
            (EntryCategory.MEDICATION, "http://snomed.info/sct", "324252006"),
        ]
        assert record.items[0].business_key == (
            "MedicationRequest|https://fhir.nhs.uk/Id/prescription-order-item-number|a54219b8-f741-4c47-b662-e4f8dfa49ab6"
        )
        assert record.items[0].subtype == "prescription"
        assert record.items[0].code_display == "Amoxicillin 250mg capsules"

    def test_eps_dispensing_is_skipped_with_a_warning_naming_medication_dispense(self):
        result = parse(FIXTURES / "uk-core/eps/repeat-dispensing-1-Process-Request-Dispense-200_OK.json")

        [record] = result.records
        assert not record.items
        assert record.patient.identity.nhs_number == "9449305552"
        [warning] = [i for i in result.issues if i.element == "MedicationDispense"]
        assert warning.severity == "warning"
        assert warning.code == "not-supported"
        assert "4 skipped" in warning.diagnostics

    def test_document_pointers_attach_to_the_nhs_number_without_demographics(self):
        [record] = parse(FIXTURES / "uk-core/bars/document_reference-GET-success.json").records

        assert record.patient.identity.nhs_number == "9693893123"
        assert record.patient.resource is None
        assert record.patient.demographics == {}
        assert [i.category for i in record.items] == [EntryCategory.DOCUMENT] * 3

    def test_pds_related_person_is_a_guardian(self):
        [record] = parse(FIXTURES / "uk-core/pds-fhir-api/RelatedPersonBundle.json").records

        [item] = record.items
        assert (item.category, item.subtype) == (EntryCategory.RELATED_PERSON, "guardian")
        assert item.summary.startswith("Mrs Jane Smith (Guardian of patient)")

    def test_related_person_with_an_empty_patient_reference_is_refused(self):
        result = parse(FIXTURES / "uk-core/pds-fhir-api/Personal_Details_RelatedPersonBundle.json")

        [error] = [i for i in result.issues if i.is_error]
        assert error.element == "RelatedPerson.patient"
        assert error.entry == 0


class TestWholePatientBundles:
    def test_synthea_bundle_maps_to_one_patient_by_local_identifiers(self):
        path = (
            FIXTURES / "synthea/synthea-hiv/Georgianne697_Jerde200_ebf0d007-a52f-5364-5c32-2ba094b88f16.json"
        )
        result = parse(path)

        [record] = result.records
        identity = record.patient.identity
        assert identity.nhs_number is None
        assert ("https://github.com/synthetichealth/synthea", "ebf0d007-a52f-5364-5c32-2ba094b88f16") in [
            (local.system, local.value) for local in identity.local_ids
        ]
        counts = Counter(item.category for item in record.items)
        assert counts == {
            EntryCategory.ENCOUNTER: 71,
            EntryCategory.DOCUMENT: 71,
            EntryCategory.LAB_RESULT: 213,
            EntryCategory.PROBLEM: 3,
            EntryCategory.MEDICATION: 3,
        }
        skipped = {i.element for i in result.issues if i.code == "not-supported"}
        assert {
            "Claim",
            "ExplanationOfBenefit",
            "Immunization",
            "Procedure",
            "DiagnosticReport.category",
        } <= skipped
        assert not result.rejected

    def test_inferno_bundle_with_an_invalid_observation_is_rejected_whole(self):
        result = parse(FIXTURES / "synthea/inferno-uscore/uscore_bundle_patient_355.json")

        assert result.rejected
        assert not result.records
        [error] = [issue.as_fhir() for issue in result.issues if issue.is_error]
        assert error["expression"] == ["Bundle.entry[266].resource.ofType(Observation).effectivePeriod.stop"]
        assert error["code"] == "structure"

    def test_inferno_bundle_once_corrected_links_lab_results_to_their_report(self):
        body = json.loads((FIXTURES / "synthea/inferno-uscore/uscore_bundle_patient_355.json").read_text())
        period = body["entry"][266]["resource"]["effectivePeriod"]
        period["end"] = period.pop("stop")

        result = parse_fhir(
            json.dumps(body).encode(), content_type="application/fhir+json", received_at=RECEIVED
        )

        assert not result.rejected
        [record] = result.records
        assert_valid_records(result.records)
        reports = [i for i in record.items if i.category == EntryCategory.LAB_REPORT]
        children = [i for i in record.items if i.parent_business_key]
        parents = {c.parent_business_key for c in children}
        # Two v2-0074 LAB reports list the same results; a result has one report, the first.
        assert len(parents) == 1
        assert parents <= {r.business_key for r in reports}
        assert {c.category for c in children} == {EntryCategory.LAB_RESULT}
        positions = {item.business_key: n for n, item in enumerate(record.items)}
        assert all(positions[c.parent_business_key] < positions[c.business_key] for c in children)

    def test_inferno_medication_from_the_bundle_is_contained_in_the_stored_request(self):
        [record] = parse(FIXTURES / "synthea/inferno-uscore/uscore_bundle_patient_85.json").records

        with_contained = [i for i in record.items if i.resource.get("contained")]
        assert with_contained
        item = with_contained[0]
        assert item.resource["medicationReference"]["reference"].startswith("#")
        assert item.code == item.resource["contained"][0]["code"]["coding"][0]["code"]
        assert {i.subtype for i in record.items if i.category == EntryCategory.RELATED_PERSON} == {"other"}


class TestUkCoreExamples:
    def test_uk_core_patient_xml(self):
        [record] = parse(FIXTURES / "uk-core/ukcore-examples/UKCore-Patient-RichardSmith-Example.xml").records

        patient = record.patient
        assert (patient.identity.nhs_number, patient.identity.nhs_number_status) == ("9912003888", "01")
        assert patient.demographics["family_name"] == "SMITH"
        assert patient.demographics["phone_home"] == "01131231234"
        assert (patient.address.lines, patient.address.town, patient.address.postcode) == (
            "4 Sandmoor Drive",
            "LEEDS",
            "LS17 7DF",
        )

    def test_example_whose_patient_is_not_in_the_body_is_refused_naming_the_element(self):
        result = parse(
            FIXTURES / "uk-core/ukcore-examples/UKCore-Observation-VitalSigns-HeartRate-Example.xml"
        )

        assert result.rejected
        [error] = [issue.as_fhir() for issue in result.issues]
        assert error["expression"] == ["Observation.subject"]
        assert "Patient/UKCore-Patient-RichardSmith-Example is not in the body" in error["diagnostics"]

    def test_patient_example_without_identifier_cannot_be_matched(self):
        result = parse(FIXTURES / "uk-core/ukcore-examples/UKCore-Patient-Sn-Makaton-Example.xml")

        assert result.rejected
        assert [i.as_fhir()["expression"] for i in result.issues] == [["Patient.identifier"]]


# The UK Core examples again, each in a collection with the patient it names, as a sender would send them.
EXPECTED_CATEGORY = {
    "Encounter": EntryCategory.ENCOUNTER,
    "Condition": EntryCategory.PROBLEM,
    "AllergyIntolerance": EntryCategory.ALLERGY,
    "MedicationStatement": EntryCategory.MEDICATION,
    "MedicationRequest": EntryCategory.MEDICATION,
    "Observation": EntryCategory.LAB_RESULT,
    "Appointment": EntryCategory.APPOINTMENT,
    "ServiceRequest": EntryCategory.REFERRAL,
    "CarePlan": EntryCategory.CARE_PLAN,
    "RelatedPerson": EntryCategory.RELATED_PERSON,
    "DocumentReference": EntryCategory.DOCUMENT,
    "Flag": EntryCategory.ALERT,
}
RICHARD_SMITH = FIXTURES / "uk-core/ukcore-examples/UKCore-Patient-RichardSmith-Example.xml"
UK_CORE_NAMING_RICHARD = [
    path
    for path in sorted((FIXTURES / "uk-core/ukcore-examples").glob("*.xml"))
    if "Patient/UKCore-Patient-RichardSmith-Example" in path.read_text(encoding="utf-8")
    and xml_to_json(path.read_bytes())["resourceType"] in EXPECTED_CATEGORY
]


def test_most_uk_core_examples_name_richard_smith():
    assert len(UK_CORE_NAMING_RICHARD) >= 60


@pytest.mark.parametrize("path", UK_CORE_NAMING_RICHARD, ids=lambda p: p.name)
def test_uk_core_example_maps_to_its_category_when_sent_with_its_patient(path):
    resource = xml_to_json(path.read_bytes())
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": xml_to_json(RICHARD_SMITH.read_bytes())}, {"resource": resource}],
    }

    result = parse_fhir(json.dumps(bundle), content_type="application/fhir+json", received_at=RECEIVED)

    assert not [issue.as_text() for issue in result.issues if issue.is_error]
    assert_valid_records(result.records)
    [record] = result.records
    assert record.patient.identity.nhs_number == "9912003888"
    [item] = record.items
    assert item.category == EXPECTED_CATEGORY[resource["resourceType"]]
    assert item.business_key in (
        f"{resource['resourceType']}/{resource['id']}",
        *(
            f"{resource['resourceType']}|{i.get('system', '')}|{i['value']}"
            for i in resource.get("identifier", [])
        ),
    )
    coded = json.dumps(resource)
    if item.code:
        assert f'"code": "{item.code}"' in coded


@pytest.mark.parametrize(
    ("name", "category", "code"),
    [
        ("UKCore-DiagnosticReport-CTChestScan-Example.xml", EntryCategory.IMAGING_REPORT, "722124004"),
        (
            "UKCore-DiagnosticReport-Lab-DiagnosticStudiesReport-Example.xml",
            EntryCategory.LAB_REPORT,
            "721981007",
        ),
        ("UKCore-AllergyIntolerance-Amoxicillin-Example.xml", EntryCategory.ALLERGY, "372687004"),
        ("UKCore-Observation-Lab-RedCellCount-Example.xml", EntryCategory.LAB_RESULT, None),
        ("UKCore-Observation-VitalSigns-HeartRate-Example.xml", EntryCategory.LAB_RESULT, "444981005"),
        ("UKCore-Flag-FoodAllergy-Example.xml", EntryCategory.ALERT, "226201008"),
        ("UKCore-CarePlan-WellnessPlan-Example.xml", EntryCategory.CARE_PLAN, None),
    ],
)
def test_known_examples_map_to_the_expected_category_and_code(name, category, code):
    resource = xml_to_json((FIXTURES / "uk-core/ukcore-examples" / name).read_bytes())
    patient = xml_to_json(RICHARD_SMITH.read_bytes())
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": patient}, {"resource": resource}],
    }
    for reference in ("subject", "patient"):
        if isinstance(resource.get(reference), dict):
            resource[reference] = {"reference": "Patient/UKCore-Patient-RichardSmith-Example"}

    [record] = parse_fhir(
        json.dumps(bundle), content_type="application/fhir+json", received_at=RECEIVED
    ).records

    [item] = record.items
    assert item.category == category
    if code:
        assert item.code == code


def test_vital_signs_observation_has_its_subtype():
    resource = xml_to_json(
        (FIXTURES / "uk-core/ukcore-examples/UKCore-Observation-VitalSigns-BMI-Example.xml").read_bytes()
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": xml_to_json(RICHARD_SMITH.read_bytes())}, {"resource": resource}],
    }

    [record] = parse_fhir(
        json.dumps(bundle), content_type="application/fhir+json", received_at=RECEIVED
    ).records

    assert record.items[0].subtype == "vital-signs"
    assert record.items[0].summary.startswith("Body mass index")
