"""Reading HL7 v2 bytes: splitting files, delimiters, escapes, character sets, the header and the ACK."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestion.hl7v2 import (
    Hl7ParseError,
    UnsupportedMessage,
    build_ack,
    map_message,
    read_header,
    split_messages,
)
from ingestion.hl7v2.reader import parse
from tests.ingestion.hl7v2 import RECEIVED

MSH = "MSH|^~\\&|PAS|RBD|DCR|DCR|20260715103000||ADT^A28^ADT_A05|{id}|P|2.4"
PID = "PID|1||H1^^^RBD^MR||{name}^Jane||19800115|F"


def adt(name: str = "Smith", control_id: str = "C1", msh: str = MSH) -> str:
    return "\r".join([msh.replace("{id}", control_id), PID.replace("{name}", name)]) + "\r"


def family_name(raw: bytes) -> str:
    return map_message(raw, received_at=RECEIVED).patient.demographics["family_name"]


class TestSplitting:
    @pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
    def test_a_file_of_messages_is_split_whatever_the_segment_ends(self, newline):
        text = (adt(control_id="C1") + "\n" + adt(control_id="C2")).replace("\r", newline)

        messages = split_messages(text.encode())

        assert [read_header(raw).control_id for raw in messages] == ["C1", "C2"]
        assert all(raw.count(b"\r") == 2 and b"\n" not in raw for raw in messages)

    def test_a_bom_blank_lines_batch_envelopes_and_mllp_characters_are_dropped(self):
        data = (
            b"\xef\xbb\xbfFHS|^~\\&|PAS\rBHS|^~\\&|PAS\r\x0b"
            + adt(control_id="C1").encode()
            + b"\x1c\r\n\n"
            + adt(control_id="C2").encode()
            + b"BTS|2\rFTS|1\r"
        )

        assert [read_header(raw).control_id for raw in split_messages(data)] == ["C1", "C2"]

    def test_text_before_the_first_message_is_kept_so_that_it_is_refused(self):
        [junk, good] = split_messages(b"hello\r" + adt().encode())

        with pytest.raises(Hl7ParseError):
            read_header(junk)
        assert read_header(good).control_id == "C1"


class TestEscapesAndDelimiters:
    @pytest.mark.parametrize(
        ("written", "read"),
        [
            ("A\\T\\E", "A&E"),
            ("a\\F\\b", "a|b"),
            ("a\\S\\b", "a^b"),
            ("a\\R\\b", "a~b"),
            ("a\\E\\b", "a\\b"),
            ("line\\.br\\next", "line\nnext"),
            ("\\H\\bold\\N\\", "bold"),
            ("caf\\XC3A9\\", "café"),
            ("a\\X0D0A\\b", "a\r\nb"),
            ("unterminated \\ backslash", "unterminated \\ backslash"),
            ("unknown \\Q\\ escape", "unknown \\Q\\ escape"),
        ],
    )
    def test_escape_sequences_are_decoded(self, written, read):
        assert family_name(adt(name=written).encode()) == read

    def test_other_delimiters_are_read_from_msh(self):
        raw = b"MSH#*!$%#PAS#RBD#DCR#DCR#20260715103000##ADT*A28#C9#P#2.4\rPID#1##H1***RBD*MR##Jones*Ann\r"

        assert family_name(raw) == "Jones"

    def test_an_escaped_escape_character_in_msh_2_is_tolerated(self):
        raw = adt(msh=MSH.replace("^~\\&", "^~\\\\&")).encode()

        assert family_name(raw) == "Smith"

    @pytest.mark.parametrize(
        ("raw", "location"),
        [
            (b"", "MSH"),
            (b"PID|1||H1", "MSH"),
            (b"MSH|^~|PAS", "MSH-2"),
            (b"MSHa^~\\&|PAS", "MSH-1"),
            (b"MSH|^~\\&|PAS|RBD|||20260715||ADT^A28|C1|P|2.4\rnot a segment\r", "MSH"),
        ],
    )
    def test_what_is_not_hl7_is_refused_naming_where(self, raw, location):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(raw)
        assert refused.value.location == location


class TestCharacterSets:
    def test_utf_8_is_read(self):
        raw = adt(name="Siobhán", msh=MSH + "||||||UNICODE UTF-8").encode("utf-8")

        assert family_name(raw) == "Siobhán"

    def test_8859_1_is_read(self):
        raw = adt(name="Siobhán", msh=MSH + "||||||8859/1").encode("latin-1")

        assert family_name(raw) == "Siobhán"

    def test_ascii_is_read(self):
        assert family_name(adt(msh=MSH + "||||||ASCII").encode("ascii")) == "Smith"

    def test_undeclared_bytes_that_are_not_utf_8_are_read_as_windows_1252(self):
        raw = adt(name="Siobhán").encode("latin-1")

        assert family_name(raw) == "Siobhán"

    def test_bytes_that_break_the_declared_character_set_are_refused(self):
        raw = adt(name="Siobhán", msh=MSH + "||||||UNICODE UTF-8").encode("latin-1")

        with pytest.raises(Hl7ParseError, match="not in that character set") as refused:
            map_message(raw)
        assert refused.value.location == "MSH-18"

    def test_an_unknown_character_set_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            read_header(adt(msh=MSH + "||||||KLINGON").encode())
        assert refused.value.location == "MSH-18"


class TestHeader:
    def test_the_header_names_sender_type_and_control_id(self):
        header = read_header(adt(control_id="X42").encode())

        assert (header.sending_application, header.sending_facility) == ("PAS", "RBD")
        assert (header.message_type, header.trigger_event, header.control_id) == ("ADT", "A28", "X42")
        assert (header.processing_id, header.version, header.charset) == ("P", "2.4", "")
        assert header.message_datetime == datetime(2026, 7, 15, 9, 30, tzinfo=UTC)

    def test_a_sent_time_zone_is_kept(self):
        header = read_header(adt(msh=MSH.replace("20260715103000", "20260715103000+0215")).encode())

        assert header.message_datetime == datetime(2026, 7, 15, 8, 15, tzinfo=UTC)

    def test_trailing_spaces_and_components_are_tolerated(self):
        raw = b"MSH|^~\\&|A|B|||20060915210000||ORU^R01 |1473|P|2.3.1^AUS&&ISO^AS4700.2&&L\r"

        header = read_header(raw)
        assert (header.message_type, header.trigger_event, header.version) == ("ORU", "R01", "2.3.1")

    @pytest.mark.parametrize(
        ("msh", "location"),
        [
            ("MSH|^~\\&|PAS|RBD|DCR|DCR|20260715||||P|2.4", "MSH-9"),
            ("MSH|^~\\&|PAS|RBD|DCR|DCR|20260715||ADT^A28|||2.4", "MSH-10"),
        ],
    )
    def test_a_header_without_type_or_control_id_is_refused(self, msh, location):
        with pytest.raises(Hl7ParseError) as refused:
            read_header(msh.encode())
        assert refused.value.location == location

    def test_versions_before_2_3_are_refused_and_later_ones_read_with_a_warning(self):
        with pytest.raises(UnsupportedMessage) as refused:
            map_message(adt(msh=MSH.replace("|2.4", "|2.2")).encode())
        assert refused.value.location == "MSH-12"

        record = map_message(adt(msh=MSH.replace("|2.4", "|2.8")).encode())
        assert "version 2.8 is read with the field positions of 2.5.1" in record.warnings


def segments(ack: bytes) -> dict[str, list[str]]:
    return {line[:3]: line.split("|") for line in ack.decode().split("\r") if line}


class TestAck:
    def test_an_accept_swaps_sender_and_receiver_and_echoes_the_control_id(self):
        ack = build_ack(adt(control_id="C77").encode(), "AA", control_id="ACK1")

        parts = segments(ack)
        assert set(parts) == {"MSH", "MSA"}
        assert parts["MSH"][2:6] == ["DCR", "DCR", "PAS", "RBD"]
        assert parts["MSH"][8] == "ACK^A28^ACK"
        assert parts["MSH"][9] == "ACK1"
        assert parts["MSA"] == ["MSA", "AA", "C77"]
        assert read_header(ack).control_id == "ACK1"

    def test_a_reject_carries_an_err_with_the_location_code_and_reason(self):
        ack = build_ack(adt(control_id="C78").encode(), "AR", "PID-3 names no patient | at all", "PID-3")

        parts = segments(ack)
        assert parts["MSA"][:3] == ["MSA", "AR", "C78"]
        err = parts["ERR"]
        assert err[2] == "PID^1^3"
        assert err[3].startswith("102^")
        assert err[4] == "E"
        assert err[8] == "PID-3 names no patient \\F\\ at all"

    def test_an_unsupported_type_is_reported_as_such(self):
        ack = build_ack(adt().encode(), "AR", "ORM^O01 is not taken", "MSH-9")

        assert segments(ack)["ERR"][3] == "200^Unsupported message type^HL70357"

    def test_an_ack_can_be_built_for_bytes_that_are_not_hl7(self):
        ack = build_ack(b"\x00\xffrubbish", "AR", "not HL7")

        parts = segments(ack)
        assert parts["MSA"][:3] == ["MSA", "AR", ""]
        assert read_header(ack).message_type == "ACK"

    def test_new_control_ids_do_not_repeat(self):
        ids = {read_header(build_ack(None, "AA")).control_id for _ in range(1000)}

        assert len(ids) == 1000

    def test_a_bad_code_is_a_programming_error(self):
        with pytest.raises(ValueError, match="acknowledgement code"):
            build_ack(None, "OK")

    def test_parse_keeps_z_segments_but_mapping_ignores_them(self):
        message = parse((adt() + "ZXY|1|local\r").encode())

        assert [segment.name for segment in message.segments] == ["MSH", "PID", "ZXY"]
