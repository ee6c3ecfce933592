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
