"""HL7 v2 data types (CE/CWE, CX, XCN, XPN, XAD, XTN, EI) read into FHIR R4 datatypes."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from ingestion.fhir.common import SNOMED, clip
from ingestion.hl7v2.reader import Segment, parse_moment

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
# HL7 table 0396 coding system names → FHIR code system URIs. SNM3 is listed because Simulated
# Hospital labels SNOMED CT concept ids with it; local names (L, 99xxx, WinPath) keep no system.
CODE_SYSTEMS = {
    "LN": LOINC,
    "LNC": LOINC,
    "LOINC": LOINC,
    "SCT": SNOMED,
    "SNOMED": SNOMED,
    "SNOMEDCT": SNOMED,
    "SNOMED-CT": SNOMED,
    "SNM": SNOMED,
    "SNM3": SNOMED,
    "I9": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9CDX": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9M": "http://hl7.org/fhir/sid/icd-9-cm",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "UCUM": UCUM,
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "C4": "http://www.ama-assn.org/go/cpt",
    "NICIP": "https://fhir.nhs.uk/CodeSystem/NICIP",
    "READ": "http://read.info/readv2",
    "CTV3": "http://read.info/ctv3",
}
_HL7_TABLE = re.compile(r"HL7(\d{4})")
_OID = re.compile(r"[0-2](\.(0|[1-9]\d*))+")
_URI_SAFE = re.compile(r"\S+")


@lru_cache(maxsize=1024)
def _uri_safe(text: str) -> bool:
    return _URI_SAFE.fullmatch(text) is not None


@lru_cache(maxsize=1024)
def code_system(name: str) -> str:
    name = name.strip()
    upper = name.upper()
    if upper in CODE_SYSTEMS:
        return CODE_SYSTEMS[upper]
    table = _HL7_TABLE.fullmatch(upper)
    if table:
        return f"http://terminology.hl7.org/CodeSystem/v2-{table[1]}"
    if _OID.fullmatch(name):
        return f"urn:oid:{name}"
    if name.startswith(("http://", "https://", "urn:")) and _URI_SAFE.fullmatch(name):
        return name
    return ""


def code_value(text: str) -> str:
    """A FHIR code: no leading, trailing or doubled whitespace."""
    return " ".join(text.split())


def coding(code: str, display: str, system_name: str) -> dict[str, str] | None:
    code = code_value(code) if " " in code or "\t" in code or "\n" in code else code
    if not code:
        return None
    found: dict[str, str] = {}
    system = code_system(system_name)
    if system:
        found["system"] = system
    if code:
        found["code"] = code
    if display:
        found["display"] = display
    return found


def concept(segment: Segment, index: int, repetition: int = 0) -> dict[str, Any] | None:
    """A CE/CWE/CNE field as a CodeableConcept: the primary and the alternate coding, and the text."""
    if not segment._parts(index, repetition):
        return None
    code, display, system, alt_code, alt_display, alt_system, _, _, original = segment.values(
        index, 9, repetition
    )
    if code and not display and not system and " " in code.strip():
        code, display = "", code  # free text sent where a code belongs
    codings = [c for c in (coding(code, display, system), coding(alt_code, alt_display, alt_system)) if c]
    text = original or display or alt_display or (code if not codings else "")
    if not codings and not text:
        return None
    result: dict[str, Any] = {}
    if codings:
        result["coding"] = codings
    if text:
        result["text"] = text
    return result


def concepts(segment: Segment, index: int) -> list[dict[str, Any]]:
    return [
        found
        for rep in range(len(segment.repetitions(index)) or 1)
        if (found := concept(segment, index, rep)) is not None
    ]


def table_concept(code: str, table: str, display: str = "") -> dict[str, Any]:
    code = code_value(code)
    coded: dict[str, str] = {"system": f"http://terminology.hl7.org/CodeSystem/v2-{table}", "code": code}
    if display:
        coded["display"] = display
    return {"coding": [coded], "text": display or code}


def concept_text(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    if value.get("text"):
        return str(value["text"])
    for found in value.get("coding", []):
        if found.get("display"):
            return str(found["display"])
    return str(value["coding"][0]["code"]) if value.get("coding") else ""


def authority(segment: Segment, index: int, repetition: int = 0, component: int = 4) -> str:
    """An HD component (CX.4, EI.2-3) as one name: the namespace, else `urn:oid:` universal id."""
    namespace = segment.get(index, component, 1, repetition)
    universal = segment.get(index, component, 2, repetition)
    kind = segment.get(index, component, 3, repetition).upper()
    if namespace:
        return namespace
    if universal:
        return f"urn:oid:{universal}" if kind == "ISO" or _OID.fullmatch(universal) else universal
    return ""


def entity_id(segment: Segment, index: int, repetition: int = 0) -> tuple[str, str]:
    """An EI (entity identifier): (assigning authority, id); the authority may be empty."""
    value = segment.get(index, 1, repetition=repetition)
    if not value:
        return "", ""
    namespace = segment.get(index, 2, repetition=repetition)
    universal = segment.get(index, 3, repetition=repetition)
    kind = segment.get(index, 4, repetition=repetition).upper()
    if namespace:
        return namespace, value
    if universal:
        return (f"urn:oid:{universal}" if kind == "ISO" or _OID.fullmatch(universal) else universal), value
    return "", value


def identifier(system: str, value: str, type_code: str = "") -> dict[str, Any]:
    """A FHIR Identifier: the system only when it is URI-shaped, else the authority as the assigner."""
    found: dict[str, Any] = {}
    if system and _uri_safe(system):
        found["system"] = system
    elif system:
        found["assigner"] = {"display": system}
    type_code = code_value(type_code)
    if type_code:
        found["type"] = {"coding": [{"system": V2_0203, "code": type_code}]}
    found["value"] = value
    return found


def person_name(segment: Segment, index: int, repetition: int = 0, offset: int = 0) -> str:
    """An XCN (offset 1: id first) or XPN as `Dr Given Family`."""
    family = segment.get(index, 1 + offset, 1, repetition)
    given = segment.get(index, 2 + offset, repetition=repetition)
    middle = segment.get(index, 3 + offset, repetition=repetition)
    prefix = segment.get(index, 5 + offset, repetition=repetition)
    return " ".join(part for part in (prefix, given, middle, family) if part)


def practitioner_reference(segment: Segment, index: int, repetition: int = 0) -> dict[str, Any] | None:
    """An XCN (id^family^given^middle^suffix^prefix^degree^source table^assigning authority)."""
    code = segment.get(index, 1, repetition=repetition)
    name = person_name(segment, index, repetition, offset=1)
    if not code and not name:
        return None
    reference: dict[str, Any] = {"type": "Practitioner"}
    if code:
        system = authority(segment, index, repetition, component=9)
        reference["identifier"] = identifier(system, code)
    reference["display"] = name or code
    return reference


def fhir_datetime(segment: Segment, index: int, component: int = 1) -> str | None:
    moment = parse_moment(segment.get(index, component))
    return moment.fhir if moment else None


def slug_key(*parts: str) -> str:
    """Parts joined for a business key; a key longer than 255 ends in a digest so it stays unique."""
    key = "|".join(parts)
    if len(key) <= 255:
        return key
    return f"{key[:222]}#{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def short(text: str, limit: int = 300) -> str:
    return clip(text, limit)
