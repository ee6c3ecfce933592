"""What every message-type mapper is given: the parsed message, its header and its patient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.canonical import ItemDraft, PatientDraft, PatientIdentity
from ingestion.fhir.common import V3_CONFIDENTIALITY, pick_coding
from ingestion.fhir.sensitivity import V3_ACT_CODE, sensitivity_of
from ingestion.hl7v2.datatypes import short
from ingestion.hl7v2.header import Header
from ingestion.hl7v2.reader import Message, Segment


@dataclass
class Context:
    message: Message
    header: Header
    updated_at: datetime
    # Who assigned ids that carry no assigning authority: the sending facility, else application.
    source: str
    pid: Segment | None = None
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    patient: PatientDraft | None = None
    patient_reference: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def item(
        self,
        category: str,
        resource: dict[str, Any],
        key: str,
        *,
        summary: str,
        codes: tuple[Any, ...] = (),
        subtype: str = "",
        occurred_at: datetime | None = None,
        ended_at: datetime | None = None,
        status: str = "",
        parent_key: str | None = None,
        sensitive_concepts: tuple[Any, ...] = (),
    ) -> ItemDraft:
        prune(resource)
        system, code, display = pick_coding(*codes)
        return ItemDraft(
            category=category,
            resource=resource,
            business_key=key,
            source_updated_at=self.updated_at,
            summary=short(summary or display or resource["resourceType"]),
            subtype=subtype[:40],
            occurred_at=occurred_at,
            ended_at=ended_at,
            code_system=system[:120],
            code=code[:64],
            code_display=short(display),
            status=status[:40],
            sensitivity=sensitivity_of(resource, (*codes, *sensitive_concepts)),
            parent_business_key=parent_key,
        )


# HL7 table 0177 (confidentiality) and 0272 (document confidentiality) as FHIR security labels.
_CONFIDENTIALITY = {
    "V": (V3_CONFIDENTIALITY, "V"),
    "R": (V3_CONFIDENTIALITY, "R"),
    "VIP": (V3_CONFIDENTIALITY, "R"),
    "PSY": (V3_ACT_CODE, "PSY"),
    "HIV": (V3_ACT_CODE, "HIV"),
    "AID": (V3_ACT_CODE, "HIV"),
    "ETH": (V3_ACT_CODE, "ETH"),
}


def security_labels(*codes: str) -> list[dict[str, str]]:
    labels = []
    for code in codes:
        found = _CONFIDENTIALITY.get(code.strip().upper())
        if found and {"system": found[0], "code": found[1]} not in labels:
            labels.append({"system": found[0], "code": found[1]})
    return labels


def prune(node: Any) -> bool:
    """Make `node` valid as FHIR in place: no empty strings, lists or objects; codes without stray spaces.

    Returns whether anything is left. HL7 v2 senders leave components empty and pad codes; FHIR
    allows neither, and a resource that fails validation would be lost, not stored.
    """
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if isinstance(value, str):
                if key == "code":
                    value = node[key] = " ".join(value.split())
                if not value.strip():
                    del node[key]
            elif isinstance(value, dict | list) and not prune(value):
                del node[key]
        return bool(node)
    if isinstance(node, list):
        node[:] = [
            item
            for item in node
            if (isinstance(item, str) and item.strip())
            or (isinstance(item, dict | list) and prune(item))
            or not isinstance(item, str | dict | list)
        ]
        return bool(node)
    return True
