"""Whatever bytes arrive, reading and mapping either succeed with valid FHIR or refuse with a reason.

Nothing but Hl7ParseError or UnsupportedMessage may escape, and an ACK can always be built.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.hl7v2 import (
    Hl7ParseError,
    UnsupportedMessage,
    build_ack,
    map_message,
    read_header,
    split_messages,
)
from tests.ingestion.hl7v2 import HL7_FIXTURES, RECEIVED, assert_valid_record

SEEDS = [
    raw
    for path in sorted(HL7_FIXTURES.rglob("*"))
    if path.is_file() and path.name != "messages.out"
    for raw in split_messages(path.read_bytes())
] + split_messages((HL7_FIXTURES / "simhospital/messages.out").read_bytes())[:40]
DELIMITERS = [*b"|^~\\&\r\n\x0b\x1c", 0x00, 0xFF, 0xC3]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(raw: bytes) -> None:
    """The contract: map or refuse; a mapped record is valid; an ACK always exists."""
    refusals = []
    code = "AA"
    try:
        read_header(raw)
        record = map_message(raw, received_at=RECEIVED)
    except (Hl7ParseError, UnsupportedMessage) as refused:
        refusals.append(refused)
        code = "AR"
    else:
        assert_valid_record(record)
    assert all(refused.location for refused in refusals)
    ack = build_ack(raw, code, "reason", "PID-3")
    assert read_header(ack).message_type == "ACK"


@FAST
@given(st.binary(max_size=600))
def test_random_bytes(raw):
    check(raw)


@FAST
@given(st.text(alphabet=st.sampled_from("MSHPIDOBXR|^~\\&\r\n0123456789 ."), max_size=300))
def test_random_delimiter_soup(text):
    check(("MSH|^~\\&|" + text).encode())


@st.composite
def mutated(draw):
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, max(len(raw) - 1, 0)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        if action == "flip" and raw:
            raw[position] = draw(st.sampled_from(DELIMITERS + list(range(32, 127))))
        elif action == "delete" and raw:
            del raw[position : position + draw(st.integers(1, 20))]
        elif action == "insert":
            raw[position:position] = bytes(draw(st.lists(st.sampled_from(DELIMITERS), max_size=6)))
        elif action == "truncate":
            del raw[position:]
        elif action == "duplicate" and raw:
            end = min(len(raw), position + draw(st.integers(1, 200)))
            raw[position:position] = raw[position:end]
    return bytes(raw)


@FAST
@given(mutated())
def test_mutated_corpus_messages(raw):
    check(raw)


def test_every_seed_passes_the_contract():
    for raw in SEEDS:
        check(raw)
