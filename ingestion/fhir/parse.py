"""From a body and its content type to FHIR entries, one at a time.

JSON Bundles are streamed (jsonstream); XML is converted whole (UK Core examples and NHS messages are
small; a 10 MB XML bundle would be read into memory once); NDJSON is read line by line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from ingestion.fhir.jsonstream import JsonObjectStream, not_json
from ingestion.fhir.outcome import FhirInputError, IssueCode, error
from ingestion.fhir.xml import xml_to_json

JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
XML_TYPES = frozenset({"application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir"})
NDJSON_TYPES = frozenset({"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"})


@dataclass
class BundleEntry:
    """One entry: `index` is its position in Bundle.entry (0 for a lone resource, the line for NDJSON)."""

    index: int
    raw: Any
    full_url: str | None = None
    resource: Any = None
    request: dict[str, Any] | None = None


def entry_from(index: int, raw: Any) -> BundleEntry:
    if not isinstance(raw, dict):
        return BundleEntry(index, raw)
    full_url = raw.get("fullUrl") if isinstance(raw.get("fullUrl"), str) else None
    request = raw.get("request") if isinstance(raw.get("request"), dict) else None
    return BundleEntry(index, raw, full_url, raw.get("resource"), request)


def body_format(content_type: str | None, body: bytes | str) -> str:
    """ "json", "xml" or "ndjson"; FhirInputError for anything else, or another FHIR version."""
    message = Message()
    message["content-type"] = content_type or ""
    mime = message.get_content_type() if content_type else ""
    version = message.get_param("fhirVersion")
    if isinstance(version, str) and not version.startswith("4.0"):
        raise FhirInputError(
            error(IssueCode.NOT_SUPPORTED, f"fhirVersion={version} is not supported; send FHIR R4 (4.0)")
        )
    if mime in JSON_TYPES:
        return "json"
    if mime in XML_TYPES:
        return "xml"
    if mime in NDJSON_TYPES:
        return "ndjson"
    if not content_type or mime == "application/octet-stream":
        start = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n" if isinstance(body, bytes) else "\ufeff \t\r\n")
        first = start[:1]
        if first in (b"<", "<"):
            return "xml"
        if first in (b"{", "{"):
            return "json"
    raise FhirInputError(
        error(
            IssueCode.NOT_SUPPORTED,
            f"Content type {content_type!r} is not supported; send application/fhir+json, "
            "application/fhir+xml or application/fhir+ndjson",
        )
    )


def open_body(body: bytes | str) -> IO[bytes] | IO[str]:
    # BytesIO shares the bytes object until written to, so this costs no copy of a large body.
    return io.BytesIO(body) if isinstance(body, bytes) else io.StringIO(body)


def iter_bundle_entries(
    stream: IO[bytes] | IO[str], header: dict[str, Any] | None = None
) -> Iterator[BundleEntry]:
    """Stream the entries of a JSON Bundle; the Bundle's other members are put in `header` as met.

    Only the entry being handed out is held in memory. Raises FhirInputError if the body is not
    JSON; whether the object really is a Bundle can only be known once `resourceType` has been met,
    which FHIR JSON usually puts first: check `header["resourceType"]` after the loop.
    """
    header = {} if header is None else header
    for key, index, value in JsonObjectStream(stream).members("entry"):
        if index is None:
            header[key] = value
        else:
            yield entry_from(index, value)


@dataclass
class BadLine:
    index: int
    message: str


def iter_ndjson_entries(stream: IO[bytes] | IO[str]) -> Iterator[BundleEntry | BadLine]:
    """One entry per non-blank line; a line that is not JSON yields a BadLine instead."""
    for number, line in enumerate(stream):
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        text = text.strip().removeprefix("\ufeff")
        if not text:
            continue
        try:
            resource = json.loads(text)
        except (ValueError, RecursionError) as exc:
            yield BadLine(number, f"the line is not valid JSON: {exc}")
            continue
        yield BundleEntry(number, {"resource": resource}, resource=resource)


def load_whole(body: bytes | str, body_kind: str) -> dict[str, Any]:
    """The whole body as one JSON object (XML converted), for lone resources and XML bundles."""
    if body_kind == "xml":
        return xml_to_json(body)
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.removeprefix("\ufeff")
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise not_json(f"it is not UTF-8 ({exc.reason})") from exc
    except (ValueError, RecursionError) as exc:
        raise not_json(str(exc)) from exc
    if not isinstance(value, dict):
        raise not_json("the top level must be an object")
    return value
