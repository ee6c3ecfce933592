"""HL7 v2 messages for the pipeline tests, built from the benchmark's realistic generator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingestion.services import benchmarks

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def oru(sequence: int, *, patient: int = 1, at: datetime = T0) -> bytes:
    return benchmarks.oru_r01(sequence=sequence, patient=patient, at=at + timedelta(seconds=sequence))


def with_obx_value(raw: bytes, value: bytes) -> bytes:
    """The message with its first result made a string holding these bytes."""
    segments = raw.split(b"\r")
    at = next(n for n, s in enumerate(segments) if s.startswith(b"OBX|1|"))
    fields = segments[at].split(b"|")
    fields[2], fields[5] = b"ST", value
    segments[at] = b"|".join(fields)
    return b"\r".join(segments)


def with_obx_code(raw: bytes, code: bytes) -> bytes:
    """The message with its first result coded with this code."""
    segments = raw.split(b"\r")
    at = next(n for n, s in enumerate(segments) if s.startswith(b"OBX|1|"))
    fields = segments[at].split(b"|")
    fields[3] = code + b"^Odd test^SCT"
    segments[at] = b"|".join(fields)
    return b"\r".join(segments)
