"""A Bundle of 10 MB and more is read with memory well below its own size."""

import json
import tracemalloc
from datetime import UTC, datetime

from ingestion.fhir import FhirReader
from records.fhir import validate_resource
from records.models import EntryCategory

RECEIVED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _large_bundle(observations: int) -> bytes:
    patient_url = "urn:uuid:00000000-0000-4000-8000-000000000001"
    entries = [
        {
            "fullUrl": patient_url,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
                "name": [{"family": "Large", "given": ["Bundle"]}],
            },
            "request": {"method": "POST", "url": "Patient"},
        }
    ]
    for n in range(observations):
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n + 2:012d}",
                "resource": {
                    "resourceType": "Observation",
                    "identifier": [{"system": "https://lab.example.nhs.uk/result", "value": f"R{n}"}],
                    "status": "final",
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
                            {
                                "system": "http://snomed.info/sct",
                                "code": "1022431000000105",
                                "display": "Haemoglobin estimation",
                            }
                        ]
                    },
                    "subject": {"reference": patient_url},
                    "effectiveDateTime": "2026-01-05T09:30:00+00:00",
                    "valueQuantity": {
                        "value": 120 + n % 40,
                        "unit": "g/L",
                        "system": "http://unitsofmeasure.org",
                    },
                    "note": [{"text": "Sample slightly haemolysed; repeat if clinically indicated. " * 4}],
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return json.dumps(body, indent=1).encode()


def test_ten_megabyte_bundle_is_mapped_with_memory_well_under_its_size():
    body = _large_bundle(observations=9000)
    assert len(body) > 10_000_000
    # fhir.resources imports its model modules on first use (about 2 MB): not part of reading a body.
    validate_resource({"resourceType": "Observation", "status": "final", "code": {"text": "warm-up"}})
    validate_resource({"resourceType": "Patient"})

    tracemalloc.start()
    try:
        reader = FhirReader(body, content_type="application/fhir+json", received_at=RECEIVED)
        mapped = 0
        for record in reader.records(batch_size=200):
            assert record.patient.identity.nhs_number == "9990000018"
            assert {item.category for item in record.items} <= {EntryCategory.LAB_RESULT}
            mapped += len(record.items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert not reader.rejected
    assert mapped == 9000
    # Streaming holds one chunk of text, the current entry, one batch of items, and an index of about
    # 400 bytes per entry (its fullUrl, identifier and patient): about 0.7 of this body. json.loads
    # alone would hold the whole parsed bundle at once.
    assert peak < len(body), f"peak {peak / 1e6:.1f} MB for a {len(body) / 1e6:.1f} MB body"
    tracemalloc.start()
    try:
        json.loads(body)
        _, loads_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < loads_peak / 3
