"""The council social care CSV extract: good rows, bad rows, bad headers, and a later extract."""

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingestion.csv import CsvHeaderError, iter_social_care_rows, parse_social_care_csv
from ingestion.csv.spec import COLUMNS, PACKAGE_TYPES
from records.fhir import validate_resource
from records.models import EntryCategory, Sensitivity

SYSTEM = "https://fhir.dorsetcouncil.example/Id/person-id"
RECEIVED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HEADER = (
    "la_person_id,nhs_number,family_name,given_names,date_of_birth,gender,gp_practice_code,package_id,"
    "package_type,package_start,package_end,support_plan_summary,allocated_worker,team,review_date,review_type,"
    "carer_name,carer_relationship,carer_phone,provider_name,provider_phone,safeguarding_flag,last_updated"
)
GOOD = (
    HEADER + "\n" + "100234,999 000 0018,Smith,Ann Marie,1941-03-07,female,J81005,PK-1,Home care,2026-01-12,,"
    '"Two calls a day for personal care, meals.",Jo Bloggs,North Dorset ASC,2026-07-12,annual,'
    "Peter Smith,son,07700 900123,Wessex Home Care Ltd,01305 000000,N,2026-03-01T09:30:00Z\n"
    + "100234,9990000018,Smith,Ann Marie,07/03/1941,female,J81005,,reablement,01/02/2026,28/02/2026,,,,,,"
    ",,,,,Y,2026-03-01 10:00\n"
    + "100777,,Jones,Bob,1950-05-05,,,PK-9,Shared Lives,2025-06-01,,,,,,,,,,,,,2026-02-27\n"
)


def parse(text):
    return parse_social_care_csv(io.StringIO(text), identifier_system=SYSTEM, received_at=RECEIVED)


def test_good_file_maps_each_row_to_the_person_plan_carer_and_flag():
    result = parse(GOOD)

    assert result.issues == []
    first, second, third = result.records
    assert first.patient.identity.nhs_number == "9990000018"
    assert [(i.system, i.value) for i in first.patient.identity.local_ids] == [(SYSTEM, "100234")]
    assert first.patient.demographics == {
        "family_name": "Smith",
        "given_names": "Ann Marie",
        "date_of_birth": date(1941, 3, 7),
        "gender": "female",
    }
    assert first.patient.registered_practice_ods == "J81005"
    plan, carer = first.items
    assert (plan.category, plan.subtype, plan.business_key) == (
        EntryCategory.CARE_PLAN,
        "home-care",
        "careplan|100234|PK-1",
    )
    assert plan.review_due_on == date(2026, 7, 12)
    assert plan.allocated_team == "North Dorset ASC"
    assert plan.status == "active"
    assert plan.summary == "Home care: Two calls a day for personal care, meals."
    assert plan.resource["contained"][0]["telecom"][0]["value"] == "01305 000000"
    assert plan.resource["activity"][1]["detail"]["description"] == "Annual review"
    assert (carer.category, carer.subtype) == (EntryCategory.RELATED_PERSON, "carer")
    assert carer.resource["telecom"] == [{"system": "phone", "value": "07700 900123"}]
    assert first.cancelled_keys == ["flag|100234|safeguarding"]
    assert first.items[0].source_updated_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    reablement, flag = second.items
    assert reablement.business_key == "careplan|100234|reablement|2026-02-01"
    assert reablement.status == "completed"
    assert (flag.category, flag.sensitivity, flag.business_key) == (
        EntryCategory.ALERT,
        Sensitivity.SAFEGUARDING,
        "flag|100234|safeguarding",
    )
    assert second.cancelled_keys == []

    assert third.patient.identity.nhs_number is None
    assert third.items[0].resource["subject"]["identifier"] == {"system": SYSTEM, "value": "100777"}
    assert third.items[0].subtype == "shared-lives"


def test_every_produced_resource_is_valid_fhir():
    for record in parse(GOOD).records:
        validate_resource(record.patient.resource)
        for item in record.items:
            validate_resource(item.resource)


def test_bad_rows_are_reported_with_line_column_and_reason_and_good_rows_still_load():
    text = (
        HEADER
        + "\n"
        + "1,,A,,1950-01-01,,,,home care,2026-01-01,,,,,,,,,,,,N,2026-03-01\n"
        + "2,,B,,31/02/1950,,,,day care,2026-01-01,,,,,,,,,,,,N,2026-03-01\n"
        + "3,,C,,1950-01-01,,,,respite,2026-13-01,,,,,,fortnightly,,,,,,maybe,yesterday\n"
        + '4,,"Multi\nline",,1950-01-01,,,,equipment,2026-01-01,2025-01-01,,,,,,,son,,,,N,2026-03-01\n'
        + ",,,,,,,,,,,,,,,,,,,,,,\n"
        + "6,,F,,1950-01-01,,,,nursing care,2026-01-01,,,,,,,,,,,,N,2026-03-01\n"
    )

    result = parse(text)

    assert [r.patient.identity.local_ids[0].value for r in result.records] == ["1", "6"]
    assert [(i.line, i.column, i.reason) for i in result.errors] == [
        (3, "date_of_birth", "'31/02/1950' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
        (4, "package_type", "unknown package type 'respite'"),
        (4, "package_start", "'2026-13-01' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
        (4, "review_type", "'fortnightly' is not planned, annual or unplanned"),
        (4, "safeguarding_flag", "'maybe' is not Y or N"),
        (4, "last_updated", "'yesterday' is not a date-time (e.g. 2026-03-01T09:30:00Z)"),
        (5, "package_end", "is before package_start"),
        (5, "carer_name", "is blank but carer_relationship is given"),
    ]


def test_invalid_nhs_number_is_reported_and_never_used():
    text = HEADER + "\n" + "9,9990000019,X,,1950-01-01,,,,home care,2026-01-01,,,,,,,,,,,,N,2026-03-01\n"

    result = parse(text)

    [record] = result.records
    assert record.patient.identity.nhs_number is None
    assert "9990000019" not in str(record.patient.resource)
    assert record.items[0].resource["subject"]["identifier"]["system"] == SYSTEM
    [issue] = result.issues
    assert (issue.line, issue.column, issue.severity) == (2, "nhs_number", "warning")
    assert "check digit" in issue.reason


def test_missing_required_columns_refuse_the_whole_file():
    text = "la_person_id,family_name,package_type,surname\n1,A,home care,B\n"

    with pytest.raises(CsvHeaderError) as raised:
        list(iter_social_care_rows(io.StringIO(text), identifier_system=SYSTEM, received_at=RECEIVED))

    missing = {issue.column for issue in raised.value.issues if issue.severity == "error"}
    assert missing == {"nhs_number", "given_names", "date_of_birth", "package_start", "last_updated"}
    assert all(issue.line is None for issue in raised.value.issues)
    assert parse(text).records == []


def test_header_is_matched_ignoring_case_order_and_spaces_and_unknown_columns_are_warned():
    text = (
        " Last_Updated ,PACKAGE_START,package_type,date_of_birth,given_names,"
        "family_name,nhs_number,la_person_id,notes\n"
        "2026-03-01,2026-01-01,equipment,1950-01-01,Al,Lee,,55,anything\n"
    )

    result = parse(text)

    assert len(result.records) == 1
    assert [(i.column, i.severity) for i in result.issues] == [("notes", "warning")]


def test_empty_file_is_refused():
    assert parse("").issues[0].reason == "the file is empty"


def test_a_later_extract_gives_the_same_keys_with_a_newer_time():
    later = GOOD.replace("2026-03-01T09:30:00Z", "2026-04-01T09:30:00Z").replace(
        "Two calls a day", "Three calls a day"
    )

    before = {i.business_key: i for r in parse(GOOD).records for i in r.items}
    after = {i.business_key: i for r in parse(later).records for i in r.items}

    assert before.keys() == after.keys()
    key = "careplan|100234|PK-1"
    assert after[key].source_updated_at > before[key].source_updated_at
    assert after[key].resource["description"].startswith("Three calls")


def test_rows_stream_one_at_a_time():
    lines = iter(GOOD.splitlines(keepends=True))
    rows = iter_social_care_rows(lines, identifier_system=SYSTEM, received_at=RECEIVED)

    first = next(rows)

    assert first.line == 2
    assert next(lines).startswith("100234,9990000018")  # the second row has not been read yet


def test_spec_lists_every_package_type_and_the_columns_the_doc_describes():
    assert set(PACKAGE_TYPES) == {
        "home-care",
        "reablement",
        "residential-care",
        "nursing-care",
        "day-services",
        "direct-payment",
        "equipment",
        "shared-lives",
    }
    assert [column.name for column in COLUMNS] == HEADER.split(",")


def test_the_csv_documentation_lists_every_column_and_package_type():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "social-care-csv.md").read_text()

    for column in COLUMNS:
        assert f"| `{column.name}` |" in doc
    for code, (display, _) in PACKAGE_TYPES.items():
        assert f"| `{code}` | {display} |" in doc
