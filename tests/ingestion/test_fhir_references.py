"""Who each resource belongs to: urn:uuid, relative, conditional and logical references; NDJSON."""

import json
from datetime import UTC, date, datetime

from ingestion.fhir import FhirReader, parse_fhir
from records.models import EntryCategory, Sensitivity
from tests.ingestion import RECEIVED, assert_valid_records

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def patient(nhs_number, family, **extra):
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS, "value": nhs_number}],
        "name": [{"family": family, "given": ["Test"]}],
        **extra,
    }


def condition(subject, code="44054006", **extra):
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": "Diabetes"}]},
        "subject": subject,
        **extra,
    }


def parse(entries, kind="collection", **bundle):
    body = json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries, **bundle})
    result = parse_fhir(body, content_type="application/fhir+json", received_at=RECEIVED)
    assert_valid_records(result.records)
    return result


def test_urn_uuid_reference_resolves_to_the_patient_entry_even_after_it():
    result = parse(
        [
            {"fullUrl": "urn:uuid:c1", "resource": condition({"reference": "urn:uuid:p1"}, id="c1")},
            {"fullUrl": "urn:uuid:p1", "resource": patient("9990000018", "Later")},
        ]
    )

    [record] = result.records
    assert record.patient.demographics["family_name"] == "Later"
    assert record.items[0].resource["subject"] == {
        "type": "Patient",
        "identifier": {"system": NHS, "value": "9990000018"},
        "display": "Test Later",
    }


def test_relative_reference_resolves_against_the_entry_base_url():
    base = "https://gp.example.nhs.uk/fhir"
    result = parse(
        [
            {"fullUrl": f"{base}/Patient/42", "resource": {**patient("9990000026", "Relative"), "id": "42"}},
            {"fullUrl": f"{base}/Condition/7", "resource": condition({"reference": "Patient/42"}, id="7")},
        ]
    )

    [record] = result.records
    assert record.patient.identity.nhs_number == "9990000026"
    assert record.items[0].business_key == "Condition/7"


def test_conditional_reference_names_the_patient_by_nhs_number():
    reference = {"reference": f"Patient?identifier={NHS}|9990000034"}

    [record] = parse([{"resource": condition(reference, id="c")}]).records

    assert record.patient.identity.nhs_number == "9990000034"
    assert record.patient.resource is None
    assert record.items[0].resource["subject"]["identifier"] == {"system": NHS, "value": "9990000034"}


def test_conditional_reference_by_local_identifier_matches_a_patient_in_the_body():
    local = {"system": "https://trust.example.nhs.uk/mrn", "value": "MRN123"}
    without_nhs = {"resourceType": "Patient", "identifier": [local], "name": [{"family": "Local"}]}
    reference = {"reference": f"Patient?identifier={local['system']}|{local['value']}"}

    [record] = parse([{"resource": without_nhs}, {"resource": condition(reference, id="c")}]).records

    assert record.patient.identity.local_ids[0].value == "MRN123"
    assert record.patient.demographics["family_name"] == "Local"
    assert record.items[0].resource["subject"]["identifier"] == local


def test_logical_reference_by_identifier():
    reference = {"identifier": {"system": NHS, "value": "9990000018"}}

    [record] = parse([{"resource": condition(reference, id="c")}]).records

    assert record.patient.identity.nhs_number == "9990000018"


def test_bundle_with_two_patients_gives_two_records():
    result = parse(
        [
            {"fullUrl": "urn:uuid:a", "resource": patient("9990000018", "Ay")},
            {"fullUrl": "urn:uuid:b", "resource": patient("9990000026", "Bee")},
            {"fullUrl": "urn:uuid:1", "resource": condition({"reference": "urn:uuid:a"}, id="1")},
            {"fullUrl": "urn:uuid:2", "resource": condition({"reference": "urn:uuid:b"}, id="2")},
            {
                "fullUrl": "urn:uuid:3",
                "resource": condition({"reference": "urn:uuid:a"}, code="38341003", id="3"),
            },
        ]
    )

    by_family = {
        r.patient.demographics["family_name"]: [i.business_key for i in r.items] for r in result.records
    }
    assert by_family == {"Ay": ["Condition/1", "Condition/3"], "Bee": ["Condition/2"]}


def test_resource_whose_patient_cannot_be_determined_is_an_issue():
    result = parse(
        [
            {"resource": condition({"reference": "Patient/nowhere"}, id="lost")},
            {"resource": condition(None, id="none")},
            {"resource": condition({"reference": "Group/g1"}, id="group")},
        ]
    )

    assert result.records == []
    errors = {issue.entry: issue.as_fhir()["diagnostics"] for issue in result.issues if issue.is_error}
    assert "Patient/nowhere is not in the body" in errors[0]
    assert "there is no subject" in errors[1] or "Condition.subject" in errors[1]
    assert 2 in errors


def test_other_references_in_the_body_become_identifiers_or_ids():
    practitioner = {
        "resourceType": "Practitioner",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555086689106"}],
        "name": [{"family": "Who", "prefix": ["Dr"]}],
    }
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": "urn:uuid:p"},
    }
    result = parse(
        [
            {"fullUrl": "urn:uuid:p", "resource": patient("9990000018", "Refs")},
            {"fullUrl": "urn:uuid:dr", "resource": practitioner},
            {"fullUrl": "urn:uuid:e1", "resource": encounter},
            {
                "fullUrl": "urn:uuid:c",
                "resource": condition(
                    {"reference": "urn:uuid:p"},
                    id="c",
                    encounter={"reference": "urn:uuid:e1"},
                    asserter={"reference": "urn:uuid:dr"},
                    recorder={
                        "reference": "Practitioner?identifier=https://fhir.hl7.org.uk/Id/gmc-number|C1234567"
                    },
                ),
            },
        ]
    )

    [record] = result.records
    stored = next(i.resource for i in record.items if i.category == EntryCategory.PROBLEM)
    assert stored["encounter"] == {"reference": "Encounter/e1"}
    assert stored["asserter"] == {
        "type": "Practitioner",
        "identifier": {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555086689106"},
        "display": "Dr Test Who".replace("Test ", ""),
    }
    assert stored["recorder"]["identifier"]["value"] == "C1234567"
    encounter_item = next(i for i in record.items if i.category == EntryCategory.ENCOUNTER)
    assert encounter_item.subtype == "inpatient"


def test_source_time_is_last_updated_then_bundle_timestamp_then_receipt():
    updated = condition({"reference": "urn:uuid:p"}, id="u", meta={"lastUpdated": "2026-02-01T10:00:00Z"})
    plain = condition({"reference": "urn:uuid:p"}, id="plain")
    entries = [
        {"fullUrl": "urn:uuid:p", "resource": patient("9990000018", "Time")},
        {"resource": updated},
        {"resource": plain},
    ]

    [record] = parse(entries, timestamp="2026-01-15T08:00:00+00:00").records
    [without_timestamp] = parse(entries).records

    assert [i.source_updated_at for i in record.items] == [
        datetime(2026, 2, 1, 10, tzinfo=UTC),
        datetime(2026, 1, 15, 8, tzinfo=UTC),
    ]
    assert without_timestamp.items[1].source_updated_at == RECEIVED


def test_sensitive_codes_and_security_labels():
    restricted = {
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]
    }
    [record] = parse(
        [
            {"fullUrl": "urn:uuid:p", "resource": patient("9990000018", "Sensitive")},
            {"resource": condition({"reference": "urn:uuid:p"}, code="76272004", id="sti")},
            {"resource": condition({"reference": "urn:uuid:p"}, code="274973002", id="top")},
            {"resource": condition({"reference": "urn:uuid:p"}, id="r", meta=restricted)},
            {"resource": condition({"reference": "urn:uuid:p"}, id="n")},
        ]
    ).records

    assert [i.sensitivity for i in record.items] == [
        Sensitivity.SEXUAL_HEALTH,
        Sensitivity.TERMINATION,
        Sensitivity.RESTRICTED,
        Sensitivity.NORMAL,
    ]


def test_restricted_patient_is_flagged():
    restricted = {
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]
    }

    [record] = parse([{"resource": patient("9000000025", "Sflag", meta=restricted)}]).records

    assert record.patient.demographics["is_restricted"] is True


def test_care_plan_review_date_and_package_type():
    plan = {
        "resourceType": "CarePlan",
        "id": "cp",
        "status": "active",
        "intent": "plan",
        "category": [{"text": "Reablement"}],
        "subject": {"reference": "urn:uuid:p"},
        "period": {"start": "2026-01-10", "end": "2026-03-10"},
        "activity": [
            {
                "detail": {
                    "status": "scheduled",
                    "description": "Planned review",
                    "scheduledString": "2026-02-20",
                }
            }
        ],
    }

    [record] = parse(
        [{"fullUrl": "urn:uuid:p", "resource": patient("9990000018", "Plan")}, {"resource": plan}]
    ).records

    [item] = record.items
    assert (item.category, item.subtype, item.review_due_on) == (
        EntryCategory.CARE_PLAN,
        "reablement",
        date(2026, 2, 20),
    )


def test_ndjson_maps_each_line_and_reports_bad_lines_by_number():
    lines = [
        json.dumps(patient("9990000018", "Nd")),
        "",
        json.dumps(condition({"identifier": {"system": NHS, "value": "9990000018"}}, id="n1")),
        "{not json",
        json.dumps(
            condition({"identifier": {"system": NHS, "value": "9990000018"}}, id="n2", clinicalStatus=5)
        ),
    ]
    reader = FhirReader("\n".join(lines), content_type="application/fhir+ndjson", received_at=RECEIVED)

    records = list(reader.records())

    assert not reader.rejected
    assert [item.business_key for r in records for item in r.items] == ["Condition/n1"]
    assert records[0].patient.demographics["family_name"] == "Nd"
    errors = {issue.entry + 1: issue.as_text() for issue in reader.issues if issue.is_error}
    assert sorted(errors) == [4, 5]
    assert errors[4].startswith("line 4:")
    assert "Condition.clinicalStatus" in errors[5]


def test_records_come_in_batches_with_reports_before_their_results():
    entries = [{"fullUrl": "urn:uuid:p", "resource": patient("9990000018", "Batch")}]
    for n in range(5):
        entries.append(
            {
                "fullUrl": f"urn:uuid:o{n}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"o{n}",
                    "status": "final",
                    "code": {"text": "Sodium"},
                    "subject": {"reference": "urn:uuid:p"},
                    "valueQuantity": {"value": 140 + n, "unit": "mmol/L"},
                },
            }
        )
    entries.append(
        {
            "fullUrl": "urn:uuid:r",
            "resource": {
                "resourceType": "DiagnosticReport",
                "id": "r",
                "status": "final",
                "category": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "CH"}]}
                ],
                "code": {"text": "U&E"},
                "subject": {"reference": "urn:uuid:p"},
                "result": [{"reference": f"urn:uuid:o{n}"} for n in range(5)],
            },
        }
    )
    body = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    reader = FhirReader(body, content_type="application/fhir+json", received_at=RECEIVED)

    records = list(reader.records(batch_size=2))

    keys = [item.business_key for record in records for item in record.items]
    assert keys[0] == "DiagnosticReport/r"
    assert sorted(keys[1:]) == [f"Observation/o{n}" for n in range(5)]
    items = [item for record in records for item in record.items]
    assert {i.parent_business_key for i in items[1:]} == {"DiagnosticReport/r"}
    assert items[0].category == EntryCategory.LAB_REPORT
    assert items[1].summary == "Sodium: 140 mmol/L"
