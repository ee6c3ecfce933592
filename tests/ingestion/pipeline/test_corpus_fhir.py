"""Every public FHIR sample through `manage.py ingest`: stored, or refused with the reason, never lost."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from ingestion.models import InboundMessage
from records.fhir import validate_resource
from records.models import Entry
from tests.corpus import fixtures_dir

pytestmark = pytest.mark.django_db

FHIR = fixtures_dir() / "fhir-r4"
FILES = sorted(p for p in FHIR.rglob("*") if p.suffix in (".json", ".xml"))


def ingest(*args: str) -> dict:
    out = StringIO()
    call_command("ingest", *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_every_fhir_file_is_stored_or_refused_with_a_reason(fhir_source):
    summary = ingest(*map(str, FILES), "--source", fhir_source.code)

    assert summary["files"] == len(FILES) == 193
    assert summary["messages"] == len(FILES)
    assert summary["waiting"] == 0
    statuses = dict(
        InboundMessage.objects.values_list("status").annotate(n=__import__("django").db.models.Count("id"))
    )
    print(statuses, {k: v for k, v in summary.items() if k != "reasons"})
    for reason in [r for r in summary["reasons"] if r["status"] != "failed"]:
        print(reason["status"], reason["file"].split("/")[-1], reason["reason"][:150])
    assert summary["accepted"] + summary["rejected"] + summary["held"] == len(FILES)
    assert summary["entries"]["created"] == Entry.objects.count() > 800
    for entry in Entry.objects.all():
        validate_resource(entry.resource)
