"""Read a JSON object's top-level members from a stream, one array's elements at a time.

A 10 MB Bundle parsed with json.loads becomes several times its size in Python objects, all alive at
once. This reader decodes the stream in chunks and hands out each element of the named array (the
Bundle's `entry`) as soon as it is complete, so the caller can map it and let it go. Only the current
element and one chunk of text are held. The standard library's C decoder does the real parsing
(`raw_decode`); this module only walks the outer `{ "key": value, ... }` and `[ ..., ... ]`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

from ingestion.fhir.outcome import FhirInputError, IssueCode, error

CHUNK_SIZE = 1 << 16
_WHITESPACE = " \t\n\r"


def _reject_constant(name: str) -> Any:
    # JSON has no NaN or Infinity; Python's decoder accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def not_json(detail: str) -> FhirInputError:
    return FhirInputError(error(IssueCode.STRUCTURE, f"The body is not valid JSON: {detail}"))


class JsonObjectStream:
    """Members of the top-level JSON object in `stream` (bytes in UTF-8, or text)."""

    def __init__(self, stream: IO[bytes] | IO[str], chunk_size: int = CHUNK_SIZE):
        self._stream = stream
        self._chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._buffer = ""
        self._pos = 0
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False
        self._started = False

    def members(self, streamed_key: str) -> Iterator[tuple[str, int | None, Any]]:
        """Yield (key, None, value) per member; for `streamed_key` holding an array, (key, i, element)."""
        self._expect("{")
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                key = self._value()
                if not isinstance(key, str):
                    raise self._error("expected a property name")
                self._expect(":")
                if key == streamed_key and self._peek() == "[":
                    self._pos += 1
                    yield from self._elements(key)
                else:
                    yield key, None, self._value()
                if self._separator("}"):
                    break
        if self._peek():
            raise self._error("extra data after the JSON object")

    def _elements(self, key: str) -> Iterator[tuple[str, int | None, Any]]:
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            yield key, index, self._value()
            index += 1
            if self._separator("]"):
                return

    def _separator(self, closing: str) -> bool:
        """Consume `,` (False: more follows) or the closing bracket (True)."""
        char = self._peek()
        self._pos += 1
        if char == ",":
            return False
        if char == closing:
            return True
        self._pos -= 1
        raise self._error(f"expected ',' or '{closing}'")

    def _read(self, size: int) -> bool:
        if self._eof:
            return False
        data = self._stream.read(size)
        if isinstance(data, bytes):
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise not_json(f"it is not UTF-8 ({exc.reason})") from exc
        else:
            text = data
        if not data:
            self._eof = True
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._pos:
            self._consumed += self._pos
            self._buffer = self._buffer[self._pos :] + text
            self._pos = 0
        else:
            self._buffer += text
        return bool(text) or not self._eof

    def _peek(self) -> str:
        """The next non-blank character, without consuming it; "" at the end."""
        while True:
            buffer = self._buffer
            while self._pos < len(buffer) and buffer[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(buffer):
                return buffer[self._pos]
            if not self._read(self._chunk_size):
                return ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise self._error(f"expected '{char}'")
        self._pos += 1

    def _value(self) -> Any:
        if not self._peek():
            raise self._error("the body ends too early (truncated?)")
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    detail = exc.msg
                    if exc.msg.startswith("Unterminated") or exc.pos >= len(self._buffer) - 1:
                        detail += "; the body ends before the JSON does (truncated?)"
                    raise self._error(detail, at=exc.pos) from exc
                # Probably cut by the chunk boundary: read at least as much again, so that a long
                # element costs linear time, then decode it once more from its start.
                self._read(max(self._chunk_size, len(self._buffer) - self._pos))
                continue
            except (ValueError, RecursionError) as exc:
                raise self._error(str(exc) or "nested too deeply") from exc
            if end >= len(self._buffer) and not self._eof:
                # A number at the very end of the chunk may go on in the next one.
                self._read(self._chunk_size)
                continue
            self._pos = end
            return value

    def _error(self, detail: str, at: int | None = None) -> FhirInputError:
        position = self._consumed + (self._pos if at is None else at)
        return not_json(f"{detail} (character {position})")
