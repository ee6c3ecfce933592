"""Realistic traffic for the ingestion benchmarks, and the arithmetic of their figures.

HL7 v2: ORU^R01 laboratory reports of ten results each and ADT admissions/updates, for a population of
synthetic people with valid test NHS numbers (the 999 range, counted from 999 500 0000 so that they meet
neither the demo population nor the test factories). FHIR: whole-patient transaction Bundles made from the
synthetic whole-patient bundles of the sample corpus, each re-identified as a different person.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from nhs_number import calculate_checksum

from records.models import Organisation, SourceSystem

BENCHMARK_ODS = "BENCH1"
HL7_APPLICATION = "BENCHLAB"
HL7_FACILITY = "BENCH1"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def benchmark_nhs_number(index: int, *, block: int = 50_000) -> str:
    """A valid test NHS number for person `index` (< 50,000 per block): 999 5xxxx x for HL7, 999 4xxxx x
    for FHIR, away from the demo population (999 99...) and the test factories (999 00...)."""
    stem = f"999{block + index % 50_000:05d}"
    for last in "0123456789":
        check = calculate_checksum(stem + last)
        if check != 10:
            return f"{stem}{last}{check}"
    raise AssertionError("unreachable: every block has at least nine valid numbers")


@transaction.atomic
def benchmark_source(*, kind: str) -> SourceSystem:
    """The benchmark's own organisation and source system, live so that freshness can be measured."""
    organisation, _ = Organisation.objects.get_or_create(
        ods_code=BENCHMARK_ODS,
        defaults={
            "name": "Benchmark Pathology Service",
            "kind": Organisation.Kind.ACUTE_TRUST,
            "sharing_agreement_from": datetime(2020, 1, 1, tzinfo=UTC).date(),
        },
    )
    code = f"benchmark-{kind}"
    values: dict[str, Any] = {
        "organisation": organisation,
        "name": f"Benchmark {kind.upper()} feed",
        "kind": kind,
        "mode": SourceSystem.Mode.LIVE,
        "local_identifier_system": f"https://fhir.example.nhs.uk/Id/{code}",
    }
    if kind == SourceSystem.Kind.HL7V2:
        values |= {"hl7_sending_application": HL7_APPLICATION, "hl7_sending_facility": HL7_FACILITY}
    source, _ = SourceSystem.objects.update_or_create(code=code, defaults=values)
    return source


# ---- HL7 v2 --------------------------------------------------------------------------------------------

# (code, display, unit, low, high, typical) for a full blood count and a renal profile: ten results a report.
_PANELS = {
    ("26604007", "Full blood count"): [
        ("1022431000000105", "Haemoglobin estimation", "g/L", 130, 170, 145),
        ("1022541000000102", "Total white cell count", "10*9/L", 4.0, 11.0, 6.5),
        ("1022651000000100", "Platelet count", "10*9/L", 150, 400, 250),
        ("1022451000000103", "Red blood cell count", "10*12/L", 4.5, 5.9, 5.0),
        ("1022291000000105", "Haematocrit", "L/L", 0.40, 0.52, 0.45),
        ("1022491000000106", "Mean cell volume", "fL", 80, 100, 90),
        ("1022481000000109", "Mean cell haemoglobin level", "pg", 27, 32, 29.5),
        ("1022551000000104", "Neutrophil count", "10*9/L", 2.0, 7.5, 4.0),
        ("1022581000000105", "Lymphocyte count", "10*9/L", 1.5, 4.0, 2.0),
        ("1022591000000107", "Monocyte count", "10*9/L", 0.2, 0.8, 0.5),
    ],
    ("1000731000000107", "Urea and electrolytes"): [
        ("1000661000000107", "Serum sodium level", "mmol/L", 133, 146, 140),
        ("1000651000000109", "Serum potassium level", "mmol/L", 3.5, 5.3, 4.3),
        ("1001011000000107", "Serum urea level", "mmol/L", 2.5, 7.8, 5.0),
        ("1000981000000109", "Serum creatinine level", "umol/L", 59, 104, 80),
        ("1011481000000105", "eGFR using creatinine", "mL/min/1.73m2", 90, 200, 95),
        ("1000691000000100", "Serum chloride level", "mmol/L", 95, 108, 101),
        ("1000701000000101", "Serum bicarbonate level", "mmol/L", 22, 29, 25),
        ("1000871000000105", "Serum albumin level", "g/L", 35, 50, 42),
        ("1000621000000104", "Serum calcium level", "mmol/L", 2.2, 2.6, 2.4),
        ("1000641000000106", "Serum phosphate level", "mmol/L", 0.8, 1.5, 1.1),
    ],
}
_FAMILY = [
    "SMITH",
    "JONES",
    "TAYLOR",
    "BROWN",
    "WILLIAMS",
    "WILSON",
    "JOHNSON",
    "DAVIES",
    "ROBINSON",
    "WRIGHT",
]
_GIVEN = ["OLIVIA", "GEORGE", "AMELIA", "HARRY", "ISLA", "NOAH", "AVA", "JACK", "MIA", "OSCAR"]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _pid(index: int) -> str:
    rng = random.Random(index)  # noqa: S311 - synthetic data
    born = datetime(1940, 1, 1) + timedelta(days=rng.randint(0, 80 * 365))
    sex = "F" if index % 2 else "M"
    return (
        f"PID|1||{benchmark_nhs_number(index)}^^^NHS^NH~B{index:07d}^^^{HL7_FACILITY}^MR||"
        f"{_FAMILY[index % 10]}^{_GIVEN[(index // 10) % 10]}^^^{'Ms' if sex == 'F' else 'Mr'}||"
        f"{born:%Y%m%d}|{sex}|||{index % 200 + 1} High Street^^Dorchester^Dorset^DT1 1AA^GBR^H"
    )


def oru_r01(*, sequence: int, patient: int, at: datetime, run: str = "") -> bytes:
    """A laboratory report with ten numeric results, reference ranges and abnormal flags."""
    rng = random.Random(sequence)  # noqa: S311 - synthetic data
    (panel_code, panel_name), tests = list(_PANELS.items())[sequence % 2]
    collected = at - timedelta(hours=3)
    order = f"BO{run}{sequence:07d}" if run else f"BO{sequence:09d}"
    control_id = f"BO{run}{sequence:07d}" if run else f"BENCHORU{sequence:09d}"
    segments = [
        f"MSH|^~\\&|{HL7_APPLICATION}|{HL7_FACILITY}|DCR|DCR|{_ts(at)}||ORU^R01^ORU_R01|{control_id}|"
        "P|2.5.1|||AL|NE|GBR|UNICODE UTF-8",
        _pid(patient),
        f"PV1|1|O|OPD^^^{HL7_FACILITY}||||C1234567^JONES^ANNA^^^DR",
        f"ORC|RE|{order}|{order}L||CM",
        f"OBR|1|{order}|{order}L|{panel_code}^{panel_name}^SCT|||{_ts(collected)}|||||||||"
        f"C1234567^JONES^ANNA^^^DR||||||{_ts(at)}||HM|F",
    ]
    for n, (code, display, unit, low, high, typical) in enumerate(tests, start=1):
        spread = (high - low) * 0.35
        value = round(rng.gauss(typical, spread), 1 if isinstance(typical, float) else 0)
        flag = "H" if value > high else "L" if value < low else "N"
        shown = f"{value:g}" if isinstance(typical, float) else f"{int(value)}"
        segments.append(
            f"OBX|{n}|NM|{code}^{display}^SCT||{shown}|{unit}|{low}-{high}|{flag}|||F|||{_ts(collected)}"
        )
    return ("\r".join(segments) + "\r").encode()


def adt(*, sequence: int, patient: int, at: datetime, run: str = "") -> bytes:
    """An admission (A01) or a demographics update (A08) with its visit."""
    event = "A01" if sequence % 3 else "A08"
    control_id = f"BA{run}{sequence:07d}" if run else f"BENCHADT{sequence:09d}"
    visit = f"V{patient:08d}"
    segments = [
        f"MSH|^~\\&|{HL7_APPLICATION}|{HL7_FACILITY}|DCR|DCR|{_ts(at)}||ADT^{event}^ADT_A01|{control_id}|"
        "P|2.5.1|||AL|NE|GBR|UNICODE UTF-8",
        f"EVN|{event}|{_ts(at)}",
        _pid(patient),
        "PD1|||DORCHESTER SURGERY^^J81001|G1234567^GP^GENERAL",
        f"PV1|1|I|WARD1^BED{patient % 30}^^{HL7_FACILITY}|28b|||C1234567^JONES^ANNA^^^DR|||300||||19|||||"
        f"{visit}|||||||||||||||||||||||||{_ts(at - timedelta(hours=2))}",
    ]
    return ("\r".join(segments) + "\r").encode()


def hl7_messages(
    count: int, *, people: int, run: str, oru_share: float = 0.8, start: datetime | None = None
) -> list[bytes]:
    """`count` messages, mostly ORU^R01 (the bulk of a region's traffic), the rest ADT. `run` (a few
    letters) makes control ids and order numbers unique to this run."""
    start = start or datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(f"{run}:{count}")  # noqa: S311 - synthetic data
    out = []
    for sequence in range(count):
        patient = rng.randrange(people)
        at = start + timedelta(milliseconds=sequence)
        maker = oru_r01 if rng.random() < oru_share else adt
        out.append(maker(sequence=sequence, patient=patient, at=at, run=run))
    return out


# ---- FHIR ----------------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def corpus_dir(explicit: str | None = None) -> Path:
    """The public sample corpus: as given, else DCR_FIXTURES_DIR, else ../shared/fixtures beside the code."""
    if explicit:
        return Path(explicit)
    if os.environ.get("DCR_FIXTURES_DIR"):
        return Path(os.environ["DCR_FIXTURES_DIR"])
    return Path(settings.BASE_DIR).parent / "shared" / "fixtures"


def whole_patient_templates(fixtures: Path) -> list[str]:
    """The corpus's synthetic whole-patient transaction bundles (Synthea), as text."""
    from ingestion.fhir import FhirReader

    folder = fixtures / "fhir-r4" / "synthea"
    templates = []
    for path in sorted(folder.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        # Only bundles the record takes as they are (one inferno bundle has an invalid Observation).
        reader = FhirReader(text, content_type="application/fhir+json", received_at=datetime.now(UTC))
        if not reader.rejected:
            templates.append(text)
    return templates


def whole_patient_bundle(template: str, *, index: int, run: str) -> bytes:
    """The template re-identified as person `index`: every UUID (full URLs, ids, references) made unique to
    the person and the run, an NHS number added to the Patient, and a current timestamp."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"dcr-benchmark:{run}:{index}")
    text = _UUID.sub(lambda m: str(uuid.uuid5(namespace, m.group(0))), template)
    bundle = json.loads(text)
    bundle["timestamp"] = datetime.now(UTC).isoformat()
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == "Patient":
            resource.setdefault("identifier", []).insert(
                0, {"system": NHS_NUMBER_SYSTEM, "value": benchmark_nhs_number(index, block=40_000)}
            )
            for identifier in resource["identifier"][1:]:
                if isinstance(identifier.get("value"), str):
                    identifier["value"] = f"{run}-{index}-{identifier['value']}"
    return json.dumps(bundle, separators=(",", ":")).encode()


def whole_patient_bundles(fixtures: Path, count: int, *, run: str) -> Iterator[bytes]:
    templates = whole_patient_templates(fixtures)
    if not templates:
        raise FileNotFoundError(f"no whole-patient bundles under {fixtures / 'fhir-r4' / 'synthea'}")
    for index in range(count):
        yield whole_patient_bundle(templates[index % len(templates)], index=index, run=run)


# ---- figures -------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, int(share * 1000) - 1)]
