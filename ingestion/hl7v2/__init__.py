"""HL7 v2 → the canonical dataclasses of ingestion.canonical. Pure: no ORM, no Django.

`read_header` reads MSH alone (for the listener, before it stores and acknowledges), `map_message` the
whole message, `build_ack` the answer. `split_messages` cuts a file into messages. The MLLP server and
client live in ingestion.hl7v2.mllp. See docs/decisions/0004-hl7v2-mapping.md.
"""

from ingestion.hl7v2.ack import build_ack
from ingestion.hl7v2.header import Header, read_header
from ingestion.hl7v2.mapping import map_message
from ingestion.hl7v2.reader import Hl7ParseError, UnsupportedMessage, split_messages

__all__ = [
    "Header",
    "Hl7ParseError",
    "UnsupportedMessage",
    "build_ack",
    "map_message",
    "read_header",
    "split_messages",
]
