"""Small readers of FHIR datatypes shared by the mappers: systems, dates, codes, names, keys."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
# One UK Core file spells it the British way, and BaRS writes `/id/`: systems are compared ignoring case.
_ODS_SYSTEMS = {ODS_SYSTEM.lower(), "https://fhir.nhs.uk/id/ods-organisation-code"}
GMP_SYSTEM = "https://fhir.hl7.org.uk/Id/gmp-number"
GMC_SYSTEM = "https://fhir.hl7.org.uk/Id/gmc-number"
SDS_USER_SYSTEM = "https://fhir.nhs.uk/Id/sds-user-id"
SNOMED = "http://snomed.info/sct"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

# Naive times (and bare dates) from UK senders are UK local time.
UK_TIME = ZoneInfo("Europe/London")

_DATETIME = re.compile(
    r"(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<time>\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
MAX_KEY_LENGTH = 255


def is_nhs_number_system(system: str | None) -> bool:
    return (system or "").lower() == NHS_NUMBER_SYSTEM.lower()


def is_ods_system(system: str | None) -> bool:
    return (system or "").lower() in _ODS_SYSTEMS


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def parse_datetime(value: Any, *, end: bool = False) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime; partial dates take their first moment.

    With `end`, a bare date or partial date means the end of that day (for period ends).
    """
    if not isinstance(value, str):
        return None
    match = _DATETIME.fullmatch(value.strip())
    if not match:
        return None
    year, month, day = int(match["year"]), int(match["month"] or 1), int(match["day"] or 1)
    try:
        if match["time"]:
            moment = datetime.fromisoformat(f"{year:04d}-{month:02d}-{day:02d}T{match['time']}")
            zone = match["zone"]
            if zone:
                return moment.replace(tzinfo=datetime.fromisoformat(f"2000-01-01T00:00{zone}").tzinfo)
            return moment.replace(tzinfo=UK_TIME)
        moment = datetime.combine(date(year, month, day), time.max if end and match["day"] else time.min)
    except ValueError:
        return None
    return moment.replace(tzinfo=UK_TIME)


def parse_date(value: Any) -> date | None:
    """A full FHIR date (YYYY-MM-DD, or the date part of a dateTime); partial dates give None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [coding for coding in dicts(concept.get("coding")) if coding.get("code")]


def pick_coding(*concepts: Any) -> tuple[str, str, str]:
    """(system, code, display) of the first concept that has a code, preferring a SNOMED CT coding."""
    for concept in concepts:
        for concept_item in as_list(concept):
            found = codings(concept_item)
            if found:
                chosen = next((c for c in found if c.get("system") == SNOMED), found[0])
                display = chosen.get("display") or concept_item.get("text") or ""
                return str(chosen.get("system") or ""), str(chosen["code"]), str(display)
    return "", "", ""


def concept_text(concept: Any) -> str:
    """What a person would read: the text, else the first display, else the first code."""
    for item in as_list(concept):
        if not isinstance(item, dict):
            continue
        if item.get("text"):
            return str(item["text"])
        for coding in dicts(item.get("coding")):
            if coding.get("display"):
                return str(coding["display"])
        for coding in dicts(item.get("coding")):
            if coding.get("code"):
                return str(coding["code"])
    return ""


def has_code(concepts: Any, system: str, codes: set[str] | frozenset[str]) -> bool:
    return any(
        coding.get("system") == system and coding.get("code") in codes
        for concept in as_list(concepts)
        for coding in codings(concept)
    )


def human_name(name: Any) -> str:
    if not isinstance(name, dict):
        return ""
    if name.get("text"):
        return str(name["text"])
    parts = [*as_list(name.get("prefix")), *as_list(name.get("given")), name.get("family")]
    return " ".join(str(part) for part in parts if part)


def first_name(resource: dict[str, Any]) -> str:
    names = dicts(resource.get("name"))
    if isinstance(resource.get("name"), str):
        return resource["name"]
    return human_name(names[0]) if names else ""


def clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def usable_identifier(resource: dict[str, Any]) -> dict[str, str] | None:
    """The resource's first identifier with a value (masterIdentifier first, for documents)."""
    for identifier in [*dicts(resource.get("masterIdentifier")), *dicts(resource.get("identifier"))]:
        if isinstance(identifier.get("value"), str) and identifier["value"].strip():
            return {"system": str(identifier.get("system") or ""), "value": identifier["value"]}
    return None


def business_key(resource: dict[str, Any], full_url: str | None, *, by_identifier: bool = True) -> str | None:
    """`Type|system|value` from the identifier, else `Type/id`, else `Type|fullUrl`; None if none.

    Prefixed with the resource type so that keys stay unique within one source. A DocumentReference's
    own identifier is its masterIdentifier: its `identifier` list holds "other identifiers" (BaRS puts
    the referral's id on every document of the referral), so its id comes before those.
    """
    resource_type = resource.get("resourceType", "")
    resource_id = resource.get("id") if isinstance(resource.get("id"), str) and resource["id"] else None
    identifier = usable_identifier(resource) if by_identifier else None
    if resource_type == "DocumentReference" and resource_id and not dicts(resource.get("masterIdentifier")):
        identifier = None
    if identifier:
        key = f"{resource_type}|{identifier['system']}|{identifier['value']}"
    elif resource_id:
        key = f"{resource_type}/{resource_id}"
    elif full_url:
        key = f"{resource_type}|{full_url}"
    else:
        return None
    return fit_key(key)


def fit_key(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[: MAX_KEY_LENGTH - 33]}#{digest}"
