"""FHIR R4 Bundles over HTTP: authenticate the sender, check the body, keep it in the ledger, apply it,
and answer with a transaction-response or batch-response Bundle, or an OperationOutcome.

The order matters: the token is checked before anything of the body is read, the content type and the
declared length before reading it, and the body is read once into one bytes object which the ledger keeps
and the streaming reader parses in place (no second copy of a large bundle).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any

from django.conf import settings

from ingestion.fhir import FhirInputError, FhirReader, Issue, IssueCode, Severity, operation_outcome
from ingestion.fhir.parse import body_format
from ingestion.services.sources import source_system_authenticate
from records.models import SourceSystem

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
# The content types a Bundle may be sent as, and the reader's name for each.
ACCEPTED_TYPES = {
    FHIR_JSON: "json",
    "application/json": "json",
    FHIR_XML: "xml",
    "application/xml": "xml",
    "text/xml": "xml",
}
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


def max_body_bytes() -> int:
    return int(getattr(settings, "DCR_FHIR_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


@dataclass
class FhirAnswer:
    """What the endpoint sends back: an HTTP status and a FHIR resource (a Bundle or OperationOutcome)."""

    status: int
    resource: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # XML when the request was XML (or asked for it), JSON otherwise.
    as_xml: bool = False
    message_id: int | None = None


def _refusal(status: int, code: str, text: str, *, as_xml: bool = False, **headers: str) -> FhirAnswer:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return FhirAnswer(status, outcome, headers=dict(headers), as_xml=as_xml)


def bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _mime(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type() if content_type else ""


def wants_xml(*, content_type: str, accept: str) -> bool:
    """Answer in XML if the sender asked for it, or sent XML and did not ask for JSON."""
    accepted = accept.lower()
    if "fhir+xml" in accepted or "application/xml" in accepted:
        return "fhir+json" not in accepted or accepted.index("fhir+xml") < accepted.index("fhir+json")
    return ACCEPTED_TYPES.get(_mime(content_type)) == "xml" and "json" not in accepted


def fhir_request_handle(
    *,
    authorization: str,
    content_type: str,
    content_length: str | None,
    read: Callable[[int], bytes] | IO[bytes],
    peer: str = "",
    accept: str = "",
) -> FhirAnswer:
    """One POST of a FHIR body, from its headers to the answer. `read(n)` reads at most n bytes of the body.

    401 unknown or revoked token (nothing read); 415 a content type other than FHIR JSON or XML; 413 a body
    over DCR_FHIR_MAX_BODY_BYTES; 400 a body that is not JSON or XML, truncated, or not a resource; 422
    resources that fail validation or cannot be attributed to a patient (a transaction stores nothing, a
    batch stores the rest). Otherwise 200 and a response Bundle saying what became of each entry.
    """
    source = source_system_authenticate(token=bearer_token(authorization))
    if source is None:
        return _refusal(
            401,
            "login",
            "Unknown or revoked credential: send 'Authorization: Bearer <token>' with the token issued to "
            "your source system",
            **{"WWW-Authenticate": 'Bearer realm="fhir"'},
        )
    as_xml = wants_xml(content_type=content_type, accept=accept)
    mime = _mime(content_type)
    if mime not in ACCEPTED_TYPES:
        return _refusal(
            415,
            "not-supported",
            f"Content type {content_type or '(none)'!r} is not accepted; send application/fhir+json or "
            "application/fhir+xml",
            as_xml=as_xml,
        )
    try:
        body_format(content_type, b"")  # refuses another fhirVersion
    except FhirInputError as exc:
        return FhirAnswer(415, operation_outcome([exc.issue]), as_xml=as_xml)
    limit = max_body_bytes()
    too_large = _refusal(
        413, "too-long", f"The body is larger than the {limit:,} bytes accepted", as_xml=as_xml
    )
    try:
        declared = int(content_length) if content_length else None
    except ValueError:
        return _refusal(400, "structure", "The Content-Length header is not a number", as_xml=as_xml)
    if declared is not None and declared > limit:
        return too_large
    reader = read.read if hasattr(read, "read") else read
    body = reader(limit + 1)
    if len(body) > limit:
        return too_large
    answer = fhir_bundle_submit(source=source, body=body, content_type=content_type, peer=peer)
    answer.as_xml = as_xml
    return answer


def fhir_bundle_submit(*, source: SourceSystem, body: bytes, content_type: str, peer: str = "") -> FhirAnswer:
    """Keep the body in the ledger, apply it now through the pipeline, and say what became of each entry.

    The same bytes sent again are a duplicate in the ledger: nothing is applied twice, and the answer says
    each entry is unchanged (or repeats the refusal).
    """
    from ingestion.models import InboundMessage
    from ingestion.services.apply import message_process
    from ingestion.services.ledger import message_receive

    fmt = (
        InboundMessage.Format.FHIR_XML
        if ACCEPTED_TYPES[_mime(content_type)] == "xml"
        else InboundMessage.Format.FHIR_JSON
    )
    message = message_receive(
        channel=InboundMessage.Channel.HTTP,
        payload=body,
        format=fmt,
        source_system=source,
        peer=peer,
        message_type="Bundle",
        enqueue=False,  # applied here, in the request, so the sender gets the real answer
    )
    reader = FhirReader(body, content_type=content_type, received_at=message.received_at)
    duplicate = message.status == InboundMessage.Status.DUPLICATE
    if not duplicate:
        message = message_process(message.pk, fhir_reader=reader)
    answer = _answer(reader, message, source=source, duplicate=duplicate)
    answer.message_id = message.pk
    answer.headers["X-Message-Id"] = str(message.pk)
    return answer


def _answer(reader: FhirReader, message: Any, *, source: SourceSystem, duplicate: bool) -> FhirAnswer:
    from ingestion.models import InboundMessage

    Status = InboundMessage.Status
    if reader.rejected:
        return FhirAnswer(status_for_rejection(reader), reader.outcome())
    if message.status == Status.HELD:
        return FhirAnswer(
            202,
            operation_outcome(
                [
                    Issue(
                        Severity.WARNING,
                        IssueCode.PROCESSING,
                        f"held for matching review, nothing stored yet: {message.error}",
                    ),
                    *reader.issues,
                ]
            ),
        )
    if message.status == Status.DROPPED:
        return FhirAnswer(
            200, operation_outcome([Issue(Severity.INFORMATION, IssueCode.INFORMATIONAL, message.error)])
        )
    if message.status not in (Status.APPLIED, Status.DUPLICATE):
        # A transient failure (the database went away): the ledger keeps the body and retries it.
        return _refusal(
            503, "transient", f"stored as message {message.pk} but not applied yet: {message.error}"
        )
    if duplicate:
        for _ in reader.records():  # maps without writing, to name each entry's key
            pass
        outcomes = dict.fromkeys(reader.entry_keys.values(), "skipped")
        patients: dict[str, str] = {}
    else:
        outcomes = _entry_outcomes(source, message.pk, set(reader.entry_keys.values()))
        patients = {}
    return FhirAnswer(200, response_bundle(reader, entry_outcomes=outcomes, patient_outcomes=patients))


def _entry_outcomes(source: SourceSystem, message_id: int, keys: set[str]) -> dict[str, str]:
    """created / updated by this message, or skipped: the record already held that version or a newer one."""
    from records.models import Entry

    outcomes = dict.fromkeys(keys, "skipped")
    ordered = sorted(keys)
    for start in range(0, len(ordered), 5000):
        rows = Entry.objects.filter(source_system=source, business_key__in=ordered[start : start + 5000])
        for key, version, provenance in rows.values_list("business_key", "version", "provenance"):
            if (provenance or {}).get("message_id") == message_id:
                outcomes[key] = "created" if version == 1 else "updated"
    return outcomes


# ---- the answer --------------------------------------------------------------------------------------


def status_for_rejection(reader: FhirReader) -> int:
    """400 for a body that cannot be read as FHIR at all (not JSON or XML, truncated, no resourceType),
    422 for resources that can be read but not taken (invalid, no patient, a Bundle type not accepted)."""
    whole = [issue for issue in reader.issues if issue.is_error and issue.entry is None]
    if any(issue.code == IssueCode.NOT_SUPPORTED and "fhirVersion" in issue.diagnostics for issue in whole):
        return 415
    if any(issue.code == IssueCode.STRUCTURE or not issue.element for issue in whole):
        return 400
    return 422


_STATUS_TEXT = {"created": "201 Created", "updated": "200 OK", "skipped": "200 OK"}


def response_bundle(
    reader: FhirReader,
    *,
    entry_outcomes: dict[str, str],
    patient_outcomes: dict[str, str],
    status_of_failed_entry: str = "422 Unprocessable Entity",
) -> dict[str, Any]:
    """A transaction-response (or batch-response) Bundle: one entry per entry sent, in the same order.

    `entry_outcomes` maps a business key to "created", "updated" or "skipped" (the stored version was as
    new or newer); `patient_outcomes` a patient key to "created" or "updated".
    """
    per_entry: dict[int, list[Issue]] = {}
    for issue in reader.issues:
        if issue.entry is not None:
            per_entry.setdefault(issue.entry, []).append(issue)
    count = max(reader.entry_count, 1) if reader.bundle_type is None else reader.entry_count
    entries = []
    for at in range(count):
        issues = per_entry.get(at, [])
        response: dict[str, Any]
        if any(issue.is_error for issue in issues):
            response = {"status": status_of_failed_entry, "outcome": operation_outcome(issues)}
        elif at in reader.entry_keys:
            outcome = entry_outcomes.get(reader.entry_keys[at], "updated")
            response = {"status": _STATUS_TEXT.get(outcome, "200 OK")}
            if outcome == "skipped":
                issues = [
                    *issues,
                    Issue(
                        Severity.INFORMATION,
                        IssueCode.INFORMATIONAL,
                        "not changed: the record holds this version or a newer one",
                        entry=at,
                    ),
                ]
            if issues:
                response["outcome"] = operation_outcome(issues)
        else:
            patient_key = reader.patient_key_of(at)
            if patient_key is not None:
                created = patient_outcomes.get(patient_key) == "created"
                response = {"status": "201 Created" if created else "200 OK"}
            else:
                resource_type = reader.entry_resource_type(at) or "The entry"
                response = {"status": "200 OK"}
                issues = issues or [
                    Issue(
                        Severity.INFORMATION,
                        IssueCode.INFORMATIONAL,
                        f"{resource_type} is not stored on its own: it was read for the references of "
                        "other entries, or its type is not kept (see the OperationOutcome of the Bundle)",
                        entry=at,
                    )
                ]
            if issues:
                response["outcome"] = operation_outcome(issues)
        entries.append({"response": response})
    kind = "transaction-response" if reader.bundle_type == "transaction" else "batch-response"
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


# ---- XML out -----------------------------------------------------------------------------------------


def to_xml(resource: dict[str, Any]) -> bytes:
    """FHIR XML for the resources this module answers with (Bundle and OperationOutcome): members are
    written in the order they are held, which the builders above keep to the order FHIR defines."""
    root = _xml_resource(resource)
    root.set("xmlns", "http://hl7.org/fhir")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _xml_resource(resource: dict[str, Any]) -> ET.Element:
    element = ET.Element(resource["resourceType"])
    _xml_members(element, resource)
    return element


def _xml_members(parent: ET.Element, value: dict[str, Any]) -> None:
    for name, member in value.items():
        if name == "resourceType":
            continue
        for item in member if isinstance(member, list) else [member]:
            child = ET.SubElement(parent, name)
            if isinstance(item, dict) and "resourceType" in item:
                child.append(_xml_resource(item))
            elif isinstance(item, dict):
                _xml_members(child, item)
            elif isinstance(item, bool):
                child.set("value", "true" if item else "false")
            else:
                child.set("value", str(item))
