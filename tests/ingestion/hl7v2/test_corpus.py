"""Every HL7 v2 file in the shared corpus: each message maps to valid FHIR, or is refused with a reason."""

from __future__ import annotations

from collections import Counter

import pytest

from ingestion.hl7v2 import Hl7ParseError, UnsupportedMessage, map_message, read_header, split_messages
from tests.ingestion.hl7v2 import HL7_FIXTURES, RECEIVED, assert_valid_record

FILES = sorted(path for path in HL7_FIXTURES.rglob("*") if path.is_file())
# What the corpus holds that the record refuses, and why: file → (error, location, words of the reason).
REFUSED = {
    "Sample-ORM.txt": (UnsupportedMessage, "MSH-9", "ORM^O01 is not a message type"),
    "ADT-A47-01.hl7": (UnsupportedMessage, "MSH-9", "ADT^A47 is not an event the record takes"),
    "OUL-R22-01.hl7": (UnsupportedMessage, "MSH-9", "OUL^R22 is not a message type"),
    "PC1-Problem-Add-v2.3.1.hl7": (UnsupportedMessage, "MSH-9", "PPR^PC1 is not a message type"),
    "sample-v2.3-oru-r01-1.hl7": (Hl7ParseError, "OBR-3", "neither a filler (OBR-3) nor a placer"),
    "sample-v2.3.1-oru-r01-1.hl7": (Hl7ParseError, "OBR", "no OBR segment"),
}


def test_the_corpus_is_there():
    assert len(FILES) == 40
    assert sum(len(split_messages(path.read_bytes())) for path in FILES) == 1052


def outcome(raw: bytes):
    try:
        return map_message(raw, received_at=RECEIVED)
    except (Hl7ParseError, UnsupportedMessage) as refused:
        return refused


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_is_mapped_or_refused_with_a_precise_reason(path):
    for raw in split_messages(path.read_bytes()):
        header = read_header(raw)
        result = outcome(raw)
        if isinstance(result, Exception):
            assert path.name in REFUSED, f"{header.kind} {header.control_id} refused: {result}"
            kind, location, words = REFUSED[path.name]
            assert isinstance(result, kind)
            assert result.location == location
            assert words in str(result)
        else:
            assert path.name not in REFUSED
            assert_valid_record(result)
            assert result.items or result.merge or result.cancelled_keys


def test_the_simulated_hospital_stream_maps_every_message():
    raw_messages = split_messages((HL7_FIXTURES / "simhospital/messages.out").read_bytes())
    kinds = Counter(read_header(raw).kind for raw in raw_messages)
    assert kinds == Counter({"ORU^R01": 610, "ADT^A01": 400, "MDM^T02": 2, "ADT^A34": 1})
    records = [map_message(raw, received_at=RECEIVED) for raw in raw_messages]
    assert all(record.patient.identity.nhs_number for record in records)
    [merge] = [record.merge for record in records if record.merge]
    assert merge.retired.local_ids[0].value == "618454581"
    assert merge.surviving.nhs_number == "5002147747"


def mapped(name: str, index: int = 0):
    raw = split_messages((HL7_FIXTURES / name).read_bytes())[index]
    record = map_message(raw, received_at=RECEIVED)
    assert_valid_record(record)
    return record


class TestWhatTheSamplesBecome:
    def test_a_haematology_report_keeps_units_flags_and_ignores_z_segments(self):
        record = mapped("pipehat/sample-v2.3-oru-r01-2.hl7")

        report, wbc, *others = record.items
        assert report.business_key == "DiagnosticReport|MYFAC|PT1311:H00001R"  # no authority: MSH-4
        assert report.status == "final"
        assert wbc.summary == "White Blood Count (WBC): 10.1 10^9/L (H)"  # A~S is OBX-10, not a flag
        assert wbc.resource["referenceRange"][0]["low"]["value"] == 3.1
        assert len(others) == 13

    def test_a_simulated_hospital_egfr_below_range_keeps_its_comparator(self):
        messages = split_messages((HL7_FIXTURES / "simhospital/messages.out").read_bytes())
        record = map_message(messages[6], received_at=RECEIVED)

        egfr = next(item for item in record.items if "eGFR" in item.summary)
        assert egfr.resource["valueQuantity"]["comparator"] == "<"
        assert egfr.resource["valueQuantity"]["value"] == 15
        assert record.patient.identity.local_ids[0].system == "SIMULATOR MRN"

    def test_the_merge_sample_retires_56789_into_12345(self):
        merge = mapped("microsoft-fhir-converter/ADT-A40-01.hl7").merge

        assert [local.value for local in merge.surviving.local_ids] == ["12345"]
        assert [local.value for local in merge.retired.local_ids] == ["56789"]

    def test_the_cancel_admit_sample_withdraws_its_visit(self):
        record = mapped("microsoft-fhir-converter/ADT-A11-01.hl7")

        assert record.cancelled_keys == ["Encounter|AccMng|40007716"]

    def test_the_appointment_sample_is_booked_at_its_time(self):
        [appointment] = mapped("microsoft-fhir-converter/SIU-S12-01.hl7").items

        assert appointment.status == "booked"
        assert appointment.resource["start"] == "2021-09-24T09:30:00+02:15"
        assert appointment.resource["minutesDuration"] == 50

    def test_the_echo_report_is_an_imaging_report_with_its_text(self):
        [report] = mapped("linuxforhealth/ORU-multiline-short.hl7").items

        assert report.category == "imaging_report"
        assert "Emergency Department" in report.resource["conclusion"]

    def test_the_referral_sample_is_pending_and_routine(self):
        [referral] = mapped("microsoft-fhir-converter/REF-I12-01.hl7").items

        assert referral.business_key == "ServiceRequest|EPIC|226839"
        assert referral.resource["priority"] == "routine"
        assert referral.resource["reasonCode"][1]["coding"][0]["code"] == "K63.3"

    def test_the_document_sample_without_content_is_kept_with_a_warning(self):
        record = mapped("microsoft-fhir-converter/MDM-T02-01.hl7")

        assert record.items[0].business_key.startswith("DocumentReference|XYZHOSPITAL|1.2.840.317")
        assert any("carries no data" in warning for warning in record.warnings)
