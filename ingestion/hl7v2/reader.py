"""A small, tolerant HL7 v2 reader: bytes → segments of fields, split lazily, unescaped at the leaf.

Written here rather than using python-hl7 because the corpus needs tolerance python-hl7 lacks (a BOM
before MSH, LF or CRLF segment ends, `^~\\\\&` in MSH-2, unterminated escapes) and because mapping an ORU
must cost well under a millisecond: only the fields a mapper asks for are ever split or unescaped.
See docs/decisions/0004-hl7v2-mapping.md.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from ingestion.canonical import MappingError

UK_TIME = ZoneInfo("Europe/London")
BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
# Control characters have no place in FHIR strings; CR, LF and tab are kept (they end segments).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TS = re.compile(
    r"(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?(?P<hour>\d{2})?(?P<minute>\d{2})?"
    r"(?P<second>\d{2})?(?:\.(?P<fraction>\d{1,6})\d*)?(?P<zone>[+-]\d{4})?"
)
# MSH-18 values (HL7 table 0211) and the Python codecs that read them. Empty means "not declared".
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "WINDOWS-1252": "cp1252",
    "CP1252": "cp1252",
}


class Hl7ParseError(MappingError):
    """The bytes are not a readable HL7 v2 message; `location` names the segment or field, e.g. PID-3."""


class UnsupportedMessage(MappingError):
    """A readable message of a type, trigger or version the record does not take; location MSH-9 or MSH-12."""


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


DEFAULT_DELIMITERS = Delimiters()


class Segment:
    """One segment. `seg[n]` is field n as in the standard (MSH-1 is the field separator), still escaped."""

    __slots__ = ("_cache", "_fields", "delimiters", "encoding", "name")

    def __init__(self, name: str, fields: list[str], delimiters: Delimiters, encoding: str):
        self._cache: dict[int | tuple[int, int], list[str]] = {}
        self.name = name
        self._fields = fields
        self.delimiters = delimiters
        self.encoding = encoding

    def __getitem__(self, index: int) -> str:
        return self._fields[index] if index < len(self._fields) else ""

    def __len__(self) -> int:
        return len(self._fields)

    def repetitions(self, index: int) -> list[str]:
        """The repetitions of a field, still escaped, empty ones included (so indexes match get())."""
        value = self[index]
        return value.split(self.delimiters.repetition) if value else []

    def _parts(self, index: int, repetition: int = 0) -> list[str]:
        """The components of one repetition of a field, still escaped; split once and remembered."""
        cache = self._cache
        key = index if not repetition else (index, repetition)
        parts = cache.get(key)
        if parts is None:
            value = self._fields[index] if index < len(self._fields) else ""
            if value and (repetition or self.delimiters.repetition in value):
                reps = value.split(self.delimiters.repetition)
                value = reps[repetition] if repetition < len(reps) else ""
            parts = cache[key] = value.split(self.delimiters.component) if value else []
        return parts

    def get(self, index: int, component: int = 1, subcomponent: int = 0, repetition: int = 0) -> str:
        """Field `index`, component `component` (1-based), unescaped and stripped; "" if absent.

        With subcomponent 0 the whole component is returned, subcomponent separators included.
        """
        key = index if not repetition else (index, repetition)
        parts = self._cache.get(key)
        if parts is None:
            parts = self._parts(index, repetition)
        if component > len(parts):
            return ""
        value = parts[component - 1]
        if not value:
            return ""
        d = self.delimiters
        if subcomponent:
            if d.subcomponent in value:
                subs = value.split(d.subcomponent)
                value = subs[subcomponent - 1] if subcomponent <= len(subs) else ""
            elif subcomponent != 1:
                return ""
        if d.escape in value or value == '""':
            value = self.unescape(value)
        return value.strip()

    def values(self, index: int, count: int, repetition: int = 0) -> list[str]:
        """The first `count` components of a field, each unescaped and stripped ("" when absent)."""
        parts = self._parts(index, repetition)
        escape = self.delimiters.escape
        found = [
            (self.unescape(part) if escape in part or part == '""' else part).strip() if part else ""
            for part in parts[:count]
        ]
        if len(found) < count:
            found.extend([""] * (count - len(found)))
        return found

    def text(self, index: int, repetition: int = 0) -> str:
        """A whole text field (ST, TX, FT) with its components, unescaped."""
        value = self[index]
        if not value:
            return ""
        if self.delimiters.repetition in value:
            reps = value.split(self.delimiters.repetition)
            value = reps[repetition] if repetition < len(reps) else ""
        elif repetition:
            return ""
        return self.unescape(value)

    def unescape(self, value: str) -> str:
        if value == '""':  # HL7's explicit null
            return ""
        if self.delimiters.escape not in value:
            return value
        return unescape(value, self.delimiters, self.encoding)

    def __repr__(self) -> str:
        return f"<Segment {self.name}>"


def unescape(value: str, d: Delimiters, encoding: str = "utf-8") -> str:
    """Decode \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, \\.br\\ and \\Xhh\\; formatting escapes are dropped.

    An escape that never ends, or one this reader does not know, is kept as written: a sender's stray
    backslash is text, not an error.
    """
    esc = d.escape
    out: list[str] = []
    position = 0
    length = len(value)
    while position < length:
        start = value.find(esc, position)
        if start < 0:
            out.append(value[position:])
            break
        out.append(value[position:start])
        end = value.find(esc, start + 1)
        if end < 0:
            out.append(value[start:])
            break
        code = value[start + 1 : end]
        replacement = _escape_value(code, d, encoding)
        if replacement is None:
            # Not an escape sequence: keep the escape character and read on from just after it.
            out.append(esc)
            position = start + 1
            continue
        out.append(replacement)
        position = end + 1
    return "".join(out)


def _escape_value(code: str, d: Delimiters, encoding: str) -> str | None:
    simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": d.escape}
    if code in simple:
        return simple[code]
    if code in ("H", "N"):  # highlighting on/off: no plain-text form
        return ""
    lowered = code.lower()
    if lowered == ".br" or lowered == ".sp" or re.fullmatch(r"\.sp\s*\+?\d*", lowered):
        return "\n"
    if re.fullmatch(r"\.(fi|nf|ce|in\s*[+-]?\d*|ti\s*[+-]?\d*|sk\s*[+-]?\d*)", lowered):
        return ""
    if code[:1] == "X" and len(code) > 1 and len(code) % 2 == 1:
        try:
            return CONTROL.sub("", bytes.fromhex(code[1:]).decode(encoding, errors="replace"))
        except ValueError:
            return None
    if code[:1] in ("C", "M", "Z") and len(code) > 1:
        # Character-set switches (\Cxxyy\, \Mxxyyzz\) and local escapes: not representable here.
        return ""
    return None


class Message:
    """A decoded message: its delimiters, character set and segments in order."""

    __slots__ = ("charset", "delimiters", "encoding", "segments", "warnings")

    def __init__(self, segments: list[Segment], delimiters: Delimiters, charset: str, encoding: str):
        self.segments = segments
        self.delimiters = delimiters
        self.charset = charset
        self.encoding = encoding
        self.warnings: list[str] = []

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def first(self, name: str) -> Segment | None:
        for segment in self.segments:
            if segment.name == name:
                return segment
        return None

    def all(self, name: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.name == name]


def _strip_leading(raw: bytes) -> bytes:
    raw = raw.lstrip(b"\x0b\r\n\t \x00")
    if raw.startswith(BOM):
        raw = raw[len(BOM) :].lstrip(b"\r\n\t ")
    return raw


def _delimiters(msh_line: bytes) -> Delimiters:
    if len(msh_line) < 8 or not msh_line.startswith(b"MSH"):
        raise Hl7ParseError("the message does not start with an MSH segment", "MSH")
    field = chr(msh_line[3])
    if field.isalnum() or field in "\r\n ":
        raise Hl7ParseError(f"MSH-1 field separator {field!r} is not a delimiter", "MSH-1")
    encoding_end = msh_line.find(msh_line[3:4], 4)
    chars = msh_line[4 : encoding_end if encoding_end > 0 else len(msh_line)].decode("latin-1")
    # One sample writes MSH-2 as ^~\\& (an escaped escape character); read it as ^~\&.
    if len(chars) == 5 and chars[2] == chars[3] == "\\":
        chars = chars[:3] + chars[4]
    if len(chars) < 4 or len(set(chars[:4])) < 4 or field in chars[:4]:
        raise Hl7ParseError(f"MSH-2 encoding characters {chars!r} are not four distinct delimiters", "MSH-2")
    if any(ch.isalnum() for ch in chars[:4]):
        raise Hl7ParseError(f"MSH-2 encoding characters {chars!r} must not be letters or digits", "MSH-2")
    return Delimiters(field, chars[0], chars[1], chars[2], chars[3])


def _msh_field(msh_line: bytes, d: Delimiters, number: int) -> str:
    parts = msh_line.decode("latin-1").split(d.field)
    # parts[0] is "MSH", parts[1] is MSH-2: MSH-n is parts[n - 1].
    return parts[number - 1] if number - 1 < len(parts) else ""


def codec_for(charset: str) -> str | None:
    """The Python codec for an MSH-18 value; "" (undeclared) reads UTF-8, else Windows-1252."""
    key = charset.strip().upper()
    if not key:
        return ""
    if key in CHARSETS:
        return CHARSETS[key]
    if not re.fullmatch(r"[A-Z0-9 /_.-]{1,40}", key):
        return None
    try:
        info = codecs.lookup(key.replace("/", "-"))
    except (LookupError, ValueError):
        return None
    # Only single-byte and UTF-8 style text codecs: MSH itself must read as ASCII.
    if not getattr(info, "_is_text_encoding", True) or info.name.startswith(("utf-16", "utf-32")):
        return None
    return info.name


def _decode(raw: bytes, charset: str) -> tuple[str, str]:
    codec = codec_for(charset)
    if codec is None:
        raise Hl7ParseError(f"character set {charset!r} is not one this record reads", "MSH-18")
    if codec == "":
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # Undeclared and not UTF-8: UK systems of that age write Windows-1252 (a superset of 8859/1).
            return raw.decode("cp1252", errors="replace"), "cp1252"
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise Hl7ParseError(
            f"MSH-18 declares {charset!r} but byte {exc.start} ({raw[exc.start : exc.start + 1]!r}) "
            "is not in that character set",
            "MSH-18",
        ) from exc


def parse(raw: bytes) -> Message:
    """Split one message into segments. Raises Hl7ParseError if it is not HL7 v2 at all."""
    if not isinstance(raw, bytes | bytearray):
        raise Hl7ParseError("the message is not bytes", "MSH")
    raw = _strip_leading(bytes(raw))
    first_end = _LINE_BREAK.search(raw)
    msh_line = raw[: first_end.start()] if first_end else raw
    d = _delimiters(msh_line)
    charset = _msh_field(msh_line, d, 18).split(d.repetition)[0].split(d.component)[0].strip()
    text, encoding = _decode(raw, charset)
    text = CONTROL.sub("", text)
    segments: list[Segment] = []
    for line in re.split(r"\r\n|\r|\n", text):
        line = line.strip("\x1c\x0b\x00")
        if not line.strip():
            continue
        name = line[:3]
        if not _SEGMENT_NAME.fullmatch(name) or (len(line) > 3 and line[3] != d.field):
            if segments and segments[-1].name not in ("MSH",):
                # A line break inside a field: some senders wrap long text. Keep it with the segment.
                previous = segments[-1]
                previous._fields[-1] += "\n" + line
                continue
            raise Hl7ParseError(f"line {len(segments) + 1} is not an HL7 segment: {line[:20]!r}", "MSH")
        fields = line.split(d.field)
        if name == "MSH":
            if segments:
                raise Hl7ParseError("a second MSH segment: split a batch into messages first", "MSH")
            fields = ["MSH", d.field, *fields[1:]]
        segments.append(Segment(name, fields, d, encoding))
    if not segments:
        raise Hl7ParseError("the message is empty", "MSH")
    return Message(segments, d, charset, encoding)


def split_messages(data: bytes) -> list[bytes]:
    """The messages in a file (or a stream): each starts at an MSH at the start of a line.

    Segment ends may be CR, LF or CRLF; each message comes back with CR segment ends. Batch envelopes
    (FHS/BHS/BTS/FTS), MLLP framing characters, a BOM and blank lines between messages are dropped.
    """
    if not data:
        return []
    data = data.replace(b"\x0b", b"\n").replace(b"\x1c", b"\n")
    messages: list[list[bytes]] = []
    for line in _LINE_BREAK.split(data):
        stripped = line.lstrip(b"\t \x00")
        if stripped.startswith(BOM):
            stripped = stripped[len(BOM) :]
        if not stripped.strip():
            continue
        head = stripped[:3]
        if head == b"MSH" and len(stripped) > 3 and not chr(stripped[3]).isalnum():
            messages.append([stripped])
        elif head in (b"FHS", b"BHS", b"BTS", b"FTS"):
            continue
        elif messages:
            messages[-1].append(line)
        else:
            # Text before the first MSH: keep it as a message of its own so that it is refused, not lost.
            messages.append([line])
    return [b"\r".join(lines) + b"\r" for lines in messages]


# --- time ---------------------------------------------------------------------------------------


class Moment:
    """An HL7 DTM: the aware datetime (UK time when no zone is sent) and its precision.

    Immutable by convention: parse_moment hands the same object out for the same text.
    """

    __slots__ = ("_fhir", "at", "precision")

    def __init__(self, at: datetime, precision: str):
        self.at = at
        self.precision = precision  # year, month, day, minute, second
        self._fhir: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Moment) and (self.at, self.precision) == (other.at, other.precision)

    def __hash__(self) -> int:
        return hash((self.at, self.precision))

    def __repr__(self) -> str:
        return f"Moment({self.at.isoformat()}, {self.precision})"

    @property
    def fhir(self) -> str:
        """As a FHIR dateTime, keeping the precision sent (a time always carries its offset)."""
        if self._fhir is None:
            at = self.at
            if self.precision == "year":
                self._fhir = f"{at.year:04d}"
            elif self.precision == "month":
                self._fhir = f"{at.year:04d}-{at.month:02d}"
            elif self.precision == "day":
                self._fhir = at.date().isoformat()
            else:
                self._fhir = at.isoformat(timespec="seconds" if not at.microsecond else "milliseconds")
        return self._fhir

    @property
    def date(self) -> date | None:
        return self.at.date() if self.precision not in ("year", "month") else None


def parse_moment(value: str) -> Moment | None:
    """An HL7 TS/DTM/DT (`YYYY[MM[DD[HH[MM[SS[.S]]]]]][+-ZZZZ]`); None when it is not one."""
    value = value.strip()
    if not value:
        return None
    return _moment(value)


@lru_cache(maxsize=4096)
def _moment(value: str) -> Moment | None:
    # A message repeats its times (every OBX-14 alike): each distinct text is read once.
    match = _TS.fullmatch(value)
    if not match:
        return None
    try:
        year = int(match["year"])
        month = int(match["month"] or 1)
        day = int(match["day"] or 1)
        hour = int(match["hour"] or 0)
        minute = int(match["minute"] or 0)
        second = int(match["second"] or 0)
        fraction = int((match["fraction"] or "0").ljust(6, "0"))
        if year < 1800:
            return None
        zone = match["zone"]
        if zone:
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tz = timezone(offset if zone[0] == "+" else -offset)
        else:
            tz = UK_TIME
        at = datetime(year, month, day, hour, minute, second, fraction, tzinfo=tz)
    except ValueError:
        return None
    if match["hour"] is not None and match["day"] is None:
        return None
    if zone == "+0000" or zone == "-0000":
        at = at.astimezone(UTC)
    precision = (
        "second"
        if match["second"]
        else "minute"
        if match["hour"]
        else "day"
        if match["day"]
        else "month"
        if match["month"]
        else "year"
    )
    return Moment(at, precision)
