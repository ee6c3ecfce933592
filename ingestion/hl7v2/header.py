"""The MSH segment alone: what the listener needs before it stores and acknowledges a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ingestion.hl7v2.reader import (
    _LINE_BREAK,
    Hl7ParseError,
    Segment,
    _delimiters,
    _strip_leading,
    codec_for,
    parse_moment,
)

_MAX_CONTROL_ID = 199  # MSH-10 is ST(199) from 2.5; earlier versions allowed 20, senders exceed it


@dataclass(frozen=True)
class Header:
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    charset: str
    message_datetime: datetime | None
    message_structure: str = ""

    @property
    def kind(self) -> str:
        """`ORU^R01`, as people write it."""
        return f"{self.message_type}^{self.trigger_event}" if self.trigger_event else self.message_type


def hd_name(segment: Segment, index: int) -> str:
    """An HD (hierarchic designator) as one name: the namespace id, else the universal id."""
    return segment.get(index, 1) or segment.get(index, 2)


def msh_segment(raw: bytes) -> Segment:
    raw = _strip_leading(bytes(raw))
    end = _LINE_BREAK.search(raw)
    line = raw[: end.start()] if end else raw
    d = _delimiters(line)
    # MSH holds only ASCII in practice; Latin-1 reads any byte, so a stray one cannot stop the ACK.
    text = line.decode("latin-1")
    fields = text.split(d.field)
    return Segment("MSH", ["MSH", d.field, *fields[1:]], d, "latin-1")


def header_of(msh: Segment) -> Header:
    message_type = msh.get(9, 1).strip().upper()
    trigger = msh.get(9, 2).strip().upper()
    if not message_type:
        raise Hl7ParseError("MSH-9 message type is empty", "MSH-9")
    if not re.fullmatch(r"[A-Z0-9]{3}", message_type):
        raise Hl7ParseError(f"MSH-9 message type {message_type!r} is not an HL7 message type", "MSH-9")
    control_id = msh.get(10).strip()
    if not control_id:
        raise Hl7ParseError("MSH-10 message control id is empty", "MSH-10")
    if len(control_id) > _MAX_CONTROL_ID:
        raise Hl7ParseError(f"MSH-10 message control id is longer than {_MAX_CONTROL_ID}", "MSH-10")
    charset = msh.get(18).strip()
    if charset and codec_for(charset) is None:
        raise Hl7ParseError(f"character set {charset!r} is not one this record reads", "MSH-18")
    moment = parse_moment(msh.get(7, 1))
    return Header(
        sending_application=hd_name(msh, 3),
        sending_facility=hd_name(msh, 4),
        receiving_application=hd_name(msh, 5),
        receiving_facility=hd_name(msh, 6),
        message_type=message_type,
        trigger_event=trigger,
        control_id=control_id,
        processing_id=msh.get(11, 1).strip().upper(),
        version=msh.get(12, 1).strip(),
        charset=charset,
        message_datetime=moment.at if moment else None,
        message_structure=msh.get(9, 3).strip().upper(),
    )


def read_header(raw: bytes) -> Header:
    """MSH only, cheaply: the sender, type, control id. Raises Hl7ParseError naming the field at fault."""
    if not isinstance(raw, bytes | bytearray):
        raise Hl7ParseError("the message is not bytes", "MSH")
    return header_of(msh_segment(raw))
