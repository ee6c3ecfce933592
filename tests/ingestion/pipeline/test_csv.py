"""Council extracts through `manage.py ingest`: good rows load, bad rows are named with line, column and
reason, and a later extract updates what an earlier one loaded."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from records.models import Entry, EntryCategory, Person

pytestmark = pytest.mark.django_db

HEADER = (
    "la_person_id,nhs_number,family_name,given_names,date_of_birth,gender,gp_practice_code,package_id,"
    "package_type,package_start,package_end,support_plan_summary,allocated_worker,team,review_date,review_type,"
    "carer_name,carer_relationship,carer_phone,provider_name,provider_phone,safeguarding_flag,last_updated\n"
)
ANN = (
    "100234,9990000018,Smith,Ann,1941-03-07,female,,PK-1,Home care,2026-01-12,,{summary},Jo Bloggs,"
    "North Dorset ASC,2026-07-12,annual,,,,,,{flag},{updated}\n"
)


def ingest(path, source) -> dict:
    out = StringIO()
    call_command("ingest", str(path), "--source", source.code, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def extract(tmp_path, name, *rows) -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows))
    return path


def test_bad_rows_are_reported_by_line_and_column_and_good_rows_load(tmp_path, council_source):
    path = extract(
        tmp_path,
        "one.csv",
        ANN.format(summary="Two calls a day", flag="N", updated="2026-03-01"),
        "100777,,Jones,Bob,1950-05-05,,,PK-9,Moon base,2025-06-01,,,,,,,,,,,,N,2026-02-27\n",
        "100778,,Brown,Cy,05/05/1950,,,PK-10,Shared Lives,2025-13-01,,,,,,,,,,,,N,2026-02-27\n",
    )

    summary = ingest(path, council_source)

    assert summary["accepted"] == 1
    [reason] = summary["reasons"]
    assert "2 row(s) not loaded" in reason["reason"]
    assert "line 3, package_type: unknown package type 'Moon base'" in reason["reason"]
    assert "line 4, package_start" in reason["reason"]
    assert Person.objects.get().family_name == "Smith"
    assert Entry.objects.get().category == EntryCategory.CARE_PLAN


def test_a_wrong_header_refuses_the_whole_file(tmp_path, council_source):
    path = tmp_path / "bad.csv"
    path.write_text("la_person_id,family_name\n1,Smith\n")

    summary = ingest(path, council_source)

    assert summary["rejected"] == 1
    assert "missing from the header" in summary["reasons"][0]["reason"]
    assert not Entry.objects.exists()


def test_a_later_extract_updates_the_plan_and_lifts_the_flag(tmp_path, council_source):
    ingest(
        extract(tmp_path, "march.csv", ANN.format(summary="Two calls", flag="Y", updated="2026-03-01")),
        council_source,
    )
    flag = Entry.objects.get(category=EntryCategory.ALERT)
    assert flag.status == "active"

    summary = ingest(
        extract(tmp_path, "april.csv", ANN.format(summary="Four calls", flag="N", updated="2026-04-01")),
        council_source,
    )

    assert summary["entries"]["updated"] == 1
    plan = Entry.objects.get(category=EntryCategory.CARE_PLAN)
    assert plan.resource["description"] == "Four calls"
    flag.refresh_from_db()
    assert flag.status == "inactive"
    assert flag.resource["status"] == "inactive"


def test_an_older_extract_changes_nothing(tmp_path, council_source):
    ingest(
        extract(tmp_path, "april.csv", ANN.format(summary="Four calls", flag="N", updated="2026-04-01")),
        council_source,
    )

    summary = ingest(
        extract(tmp_path, "march.csv", ANN.format(summary="Two calls", flag="N", updated="2026-03-01")),
        council_source,
    )

    assert summary["entries"]["skipped"] == 1
    assert Entry.objects.get().resource["description"] == "Four calls"
