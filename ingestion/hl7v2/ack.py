"""HL7 v2 acknowledgements: MSH (sender and receiver swapped), MSA, and an ERR with a readable reason."""

from __future__ import annotations

import itertools
import os
import re
import time
from datetime import datetime

from ingestion.hl7v2.reader import DEFAULT_DELIMITERS, UK_TIME, Delimiters, Hl7ParseError, codec_for

ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
# HL7 table 0357 (message error condition codes) for the ERR segment.
ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+)(?:\.(\d+))?)?")
_counter = itertools.count(1)
_PREFIX = f"{os.getpid() % 100000:05d}"


def new_control_id() -> str:
    """Unique for this process's lifetime and across restarts: time, process id and a counter."""
    return f"A{int(time.time() * 1000):x}{_PREFIX}{next(_counter) % 1_000_000:06d}"


def escape(text: str, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Text made safe for one field: delimiters escaped, line breaks as \\.br\\."""
    text = text.replace(d.escape, f"{d.escape}E{d.escape}")
    for char, code in (
        (d.field, "F"),
        (d.component, "S"),
        (d.subcomponent, "T"),
        (d.repetition, "R"),
    ):
        text = text.replace(char, f"{d.escape}{code}{d.escape}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", f"{d.escape}.br{d.escape}")


def _error_code(code: str, location: str, error_code: str | None) -> str:
    if error_code:
        return error_code
    if location.startswith("MSH-9"):
        return "200"
    if location.startswith("MSH-12"):
        return "203"
    if location.startswith("MSH-11"):
        return "202"
    if code in ("AE", "CE"):
        return "207"
    return "100" if location in ("", "MSH") else "102"


def _original(raw: bytes | None) -> tuple[Delimiters, list[str]]:
    """The original MSH fields (MSH-n at index n), or an empty MSH when the bytes are not HL7."""
    from ingestion.hl7v2.header import msh_segment

    if raw:
        try:
            msh = msh_segment(raw)
        except Hl7ParseError:
            pass
        else:
            return msh.delimiters, [msh[i] for i in range(max(len(msh), 19))]
    return DEFAULT_DELIMITERS, [""] * 19


def build_ack(
    raw: bytes | None,
    code: str,
    reason: str = "",
    location: str = "",
    *,
    control_id: str | None = None,
    error_code: str | None = None,
) -> bytes:
    """The ACK for `raw` (None or non-HL7 bytes give an ACK with empty addressing).

    AA is MSH + MSA. AE and AR add an ERR naming the segment and field (ERR-2), the HL7 error code
    (ERR-3, table 0357, taken from `error_code` or guessed from the location) and the reason in
    words (ERR-8, and MSA-3 for senders that only read that).
    """
    code = code.upper()
    if code not in ACK_CODES:
        raise ValueError(f"{code!r} is not an acknowledgement code (AA, AE, AR, CA, CE, CR)")
    d, msh = _original(raw)
    f, c = d.field, d.component
    original_id = msh[10].split(d.component)[0] if msh[10] else ""
    trigger = msh[9].split(c)[1] if c in msh[9] else ""
    version = msh[12] or "2.5.1"
    charset = msh[18].split(d.repetition)[0]
    if not codec_for(charset):
        charset = ""  # a character set we cannot write is not echoed: the ACK goes out in UTF-8
    now = datetime.now(UK_TIME).strftime("%Y%m%d%H%M%S%z")
    ack_type = f"ACK{c}{trigger}{c}ACK" if trigger else f"ACK{c}{c}ACK"
    header = [
        "MSH",
        f"{c}{d.repetition}{d.escape}{d.subcomponent}",
        msh[5],
        msh[6],
        msh[3],
        msh[4],
        now,
        "",
        ack_type,
        escape(control_id or new_control_id(), d),
        msh[11] or "P",
        version,
    ]
    if charset:
        header += ["", "", "", "", "", charset]
    lines = [f.join(header)]
    text = " ".join(reason.split()) if reason else ""
    msa = ["MSA", code, original_id]
    if text and code not in ("AA", "CA"):
        msa.append(escape(text[:80], d))
    lines.append(f.join(msa))
    if code not in ("AA", "CA"):
        err_code = _error_code(code, location, error_code)
        match = _LOCATION.fullmatch(location.strip().upper()) if location else None
        erl = ""
        if match:
            erl = c.join([match[1], "1", *(part for part in (match[2], match[3]) if part)])
        severity = "E"
        err = [
            "ERR",
            "",
            erl,
            f"{err_code}{c}{escape(ERROR_TEXT.get(err_code, 'Error'), d)}{c}HL70357",
            severity,
            "",
            "",
            "",
            escape(text or ERROR_TEXT.get(err_code, "Error"), d),
        ]
        lines.append(f.join(err))
    encoded = "\r".join(lines) + "\r"
    codec = codec_for(charset) or "utf-8"
    return encoded.encode(codec, errors="replace")
