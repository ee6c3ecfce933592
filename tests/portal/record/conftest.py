"""The sample corpus ingested as the pipeline stores it, for the page tests that read real-world shapes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from records.models import Person, SourceSystem
from tests.corpus import fixtures_dir
from tests.records.factories import OrganisationFactory, SourceSystemFactory

CORPUS = fixtures_dir()
HL7_FILES = sorted(p for p in (CORPUS / "hl7v2").rglob("*") if p.is_file() and "simhospital" not in p.parts)
FHIR_FILES = sorted((CORPUS / "fhir-r4" / "synthea").rglob("*.json"))


def ingest(path, source: SourceSystem) -> dict:
    out = StringIO()
    call_command("ingest", str(path), "--source", source.code, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


@pytest.fixture
def corpus_people():
    from ingestion.services import ledger

    ledger.sources.clear()
    hospital = OrganisationFactory(ods_code="RBD", name="Dorset County Hospital NHS Foundation Trust")
    for number, path in enumerate(HL7_FILES + FHIR_FILES):
        kind = SourceSystem.Kind.FHIR if path.suffix == ".json" else SourceSystem.Kind.HL7V2
        source = SourceSystemFactory(
            organisation=hospital, code=f"sample-{number}", kind=kind, local_identifier_system=""
        )
        ingest(path, source)
    ledger.sources.clear()
    return list(Person.objects.annotate(n=Count("entries")).filter(n__gt=0).order_by("-n"))
