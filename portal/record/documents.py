"""Documents and single entries, with their attachments."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from portal.record.common import (
    LIST_FIELDS,
    NEWEST,
    C,
    _attach_organisations,
    _visible,
)
from records.access import Actor
from records.models import Entry, Person


def documents_list(*, actor: Actor, person: Person, limit: int = 200) -> list[Entry]:
    """Letters and other documents, newest first."""
    rows = list(_visible(actor, person, [C.DOCUMENT]).only(*LIST_FIELDS).order_by(*NEWEST)[:limit])
    return _attach_organisations(rows)


def entry_get(*, actor: Actor, person: Person, entry_id: int) -> Entry | None:
    """One entry, only if the actor may see it."""
    entry = (
        _visible(actor, person)
        .select_related("source_organisation", "source_system")
        .filter(pk=entry_id)
        .first()
    )
    return entry


@dataclass
class Attachment:
    index: int
    title: str
    content_type: str
    size: int | None
    text: str | None  # decoded, for text/plain shown in the page
    has_data: bool
    url: str


def attachments_of(entry: Entry) -> list[Attachment]:
    """The attachments of a DocumentReference (or a report's presentedForm)."""
    resource = entry.resource
    raw = [c.get("attachment") or {} for c in resource.get("content") or []]
    raw += resource.get("presentedForm") or []
    found = []
    for index, attachment in enumerate(raw):
        data = attachment.get("data")
        text = None
        content_type = attachment.get("contentType", "application/octet-stream")
        if data and content_type.startswith("text/plain"):
            text = _decode(data)
        found.append(
            Attachment(
                index=index,
                title=attachment.get("title") or resource.get("description") or "Attachment",
                content_type=content_type,
                size=attachment.get("size") or (len(data) * 3 // 4 if data else None),
                text=text,
                has_data=bool(data),
                url=attachment.get("url", ""),
            )
        )
    return found


def attachment_bytes(entry: Entry, index: int) -> tuple[bytes, str, str] | None:
    """The attachment's content, type and a file name, or None if there is no such inline attachment."""
    resource = entry.resource
    raw = [c.get("attachment") or {} for c in resource.get("content") or []]
    raw += resource.get("presentedForm") or []
    if not 0 <= index < len(raw) or not raw[index].get("data"):
        return None
    attachment = raw[index]
    try:
        content = base64.b64decode(attachment["data"], validate=False)
    except (binascii.Error, ValueError):
        return None
    content_type = attachment.get("contentType", "application/octet-stream")
    extension = {"text/plain": "txt", "application/pdf": "pdf", "text/html": "html"}.get(
        content_type.split(";")[0], "bin"
    )
    return content, content_type, f"document-{entry.pk}-{index + 1}.{extension}"


def _decode(data: str) -> str | None:
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
