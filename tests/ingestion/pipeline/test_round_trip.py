"""Round trip: whatever is ingested from HL7 v2, FHIR or CSV reads back as valid FHIR R4 (issue 4)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from consent.subject_access import _bundle, _sources, validate_bundle
from records.models import Entry, Person
from tests.corpus import fixtures_dir

pytestmark = pytest.mark.django_db

CSV = (
    "la_person_id,nhs_number,family_name,given_names,date_of_birth,gender,gp_practice_code,package_id,"
    "package_type,package_start,package_end,support_plan_summary,allocated_worker,team,review_date,review_type,"
    "carer_name,carer_relationship,carer_phone,provider_name,provider_phone,safeguarding_flag,last_updated\n"
    "100234,999 000 0018,Smith,Ann Marie,1941-03-07,female,J81005,PK-1,Home care,2026-01-12,,"
    '"Two calls a day for personal care, meals.",Jo Bloggs,North Dorset ASC,2026-07-12,annual,'
    "Peter Smith,son,07700 900123,Wessex Home Care Ltd,01305 000000,Y,2026-03-01T09:30:00Z\n"
    "100777,,Jones,Bob,1950-05-05,,,PK-9,Shared Lives,2025-06-01,,,,,,,,,,,,N,2026-02-27\n"
)


def ingest(*args: str) -> dict:
    out = StringIO()
    call_command("ingest", *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_what_each_channel_stored_reads_back_as_valid_fhir(tmp_path, hl7_source, fhir_source, council_source):
    hl7 = fixtures_dir() / "hl7v2"
    extract = tmp_path / "extract.csv"
    extract.write_text(CSV)
    summaries = [
        ingest(str(hl7 / "pipehat" / "sample-v2.5.1-oru-r01-1.hl7"), "--source", hl7_source.code),
        ingest(str(hl7 / "microsoft-fhir-converter" / "ADT-A01-01.hl7"), "--source", hl7_source.code),
        ingest(
            str(fixtures_dir() / "fhir-r4/synthea/inferno-uscore/uscore_bundle_patient_85.json"),
            "--source",
            fhir_source.code,
        ),
        ingest(str(extract), "--source", council_source.code),
    ]
    assert [s["accepted"] for s in summaries] == [1, 1, 1, 1]
    sources = set(Entry.objects.values_list("source_system__code", flat=True))
    assert sources == {hl7_source.code, fhir_source.code, council_source.code}

    for person in Person.objects.all():
        entries = list(Entry.objects.filter(person=person))
        bundle = _bundle(person, entries, _sources(person, entries), [])
        validate_bundle(bundle)
        resources = [item["resource"]["resourceType"] for item in bundle["entry"]]
        assert resources[0] == "Patient"
        assert len(resources) >= len(entries) + 1
