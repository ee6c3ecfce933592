"""What every message-type mapper is given: the parsed message, its header and its patient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.canonical import ItemDraft, PatientDraft, PatientIdentity
from ingestion.fhir.common import SNOMED, V3_CONFIDENTIALITY
from ingestion.fhir.sensitivity import SENSITIVE_SNOMED_CODES, V3_ACT_CODE, sensitivity_of
from ingestion.hl7v2.datatypes import short
from ingestion.hl7v2.header import Header
from ingestion.hl7v2.reader import Message, Segment
from records.models import Sensitivity


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
        system, code, display = _pick_coding(codes)
        # sensitivity_of only when something could make the entry sensitive: the resources built
        # here carry no labels but ours, so without them or a listed SNOMED code it is normal.
        if (
            "meta" in resource
            or "securityLabel" in resource
            or _has_sensitive_code((*codes, *sensitive_concepts))
        ):
            sensitivity = sensitivity_of(resource, (*codes, *sensitive_concepts))
        else:
            sensitivity = Sensitivity.NORMAL
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
            sensitivity=sensitivity,
            parent_business_key=parent_key,
        )


def _pick_coding(concepts: tuple[Any, ...]) -> tuple[str, str, str]:
    """ingestion.fhir.common.pick_coding for the concepts built here (every coding has a code)."""
    for concept in concepts:
        found = concept.get("coding") if concept else None
        if found:
            chosen = next((c for c in found if c.get("system") == SNOMED), found[0])
            return chosen.get("system", ""), chosen["code"], chosen.get("display") or concept.get("text", "")
    return "", "", ""


def _has_sensitive_code(concepts: tuple[Any, ...]) -> bool:
    for concept in concepts:
        if concept:
            for coding in concept.get("coding", ()):
                if coding.get("code") in SENSITIVE_SNOMED_CODES:
                    return True
    return False


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
    kind = type(node)
    if kind is dict:
        empty = []
        for key, value in node.items():
            value_kind = type(value)
            if value_kind is str:
                if key == "code" and (" " in value or "\t" in value or "\n" in value):
                    value = node[key] = " ".join(value.split())
                if not value or value.isspace():
                    empty.append(key)
            elif (value_kind is dict or value_kind is list) and not prune(value):
                empty.append(key)
        for key in empty:
            del node[key]
        return bool(node)
    if kind is list:
        keep = [
            item
            for item in node
            if not (
                (type(item) is str and (not item or item.isspace()))
                or ((type(item) is dict or type(item) is list) and not prune(item))
            )
        ]
        if len(keep) != len(node):
            node[:] = keep
        return bool(node)
    return True
