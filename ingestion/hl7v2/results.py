"""OBX values, units, reference ranges, flags and statuses as FHIR Observation elements."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ingestion.hl7v2.datatypes import UCUM, code_value, concept
from ingestion.hl7v2.reader import Segment, parse_moment

INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# Table 0078 abnormal flags that v3 ObservationInterpretation has with the same code.
INTERPRETATION_CODES = frozenset(
    {
        "L", "H", "LL", "HH", "LU", "HU", "N", "A", "AA", "<", ">", "POS", "NEG", "IND", "DET", "ND",
        "NR", "RR", "QCF", "S", "R", "I", "MS", "VS", "U", "D", "B", "W", "E", "EX", "HX", "LX",
    }
)  # fmt: skip
INTERPRETATION_TEXT = {
    "L": "Low",
    "H": "High",
    "LL": "Critically low",
    "HH": "Critically high",
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critically abnormal",
    "<": "Off scale low",
    ">": "Off scale high",
    "POS": "Positive",
    "NEG": "Negative",
    "S": "Susceptible",
    "R": "Resistant",
    "I": "Intermediate",
}
# OBX-11 (table 0085) → Observation.status.
OBSERVATION_STATUS = {
    "C": "corrected",
    "D": "entered-in-error",
    "F": "final",
    "I": "registered",
    "N": "cancelled",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "U": "final",
    "W": "entered-in-error",
    "X": "cancelled",
    "A": "amended",
    "O": "registered",
}
# OBR-25 (table 0123) → DiagnosticReport.status.
REPORT_STATUS = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "A": "partial",
    "P": "preliminary",
    "R": "partial",
    "F": "final",
    "C": "corrected",
    "X": "cancelled",
    "M": "amended",
    "Y": "unknown",
    "Z": "unknown",
}
TEXT_TYPES = frozenset({"TX", "FT", "ST"})
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NM = re.compile(rf"(<=|>=|<|>|=)?\s*({_NUMBER})")
_RANGE = re.compile(rf"({_NUMBER})\s*(?:-|\u2013|to)\s*({_NUMBER})")
_BOUND = re.compile(rf"(<=|>=|<|>|≤|≥)\s*({_NUMBER})")
_COMPARATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "≤": "<=", "≥": ">="}
_ED_TYPES = {"AP": "application", "IM": "image", "AU": "audio", "TEXT": "text", "TX": "text"}


def number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text or "E" in text else int(text)


def unit_of(obx: Segment) -> dict[str, str]:
    """OBX-6 as Quantity unit/system/code: UCUM only when the sender says so."""
    code, text, system = obx.values(6, 3)
    system = system.upper()
    unit = text or code
    if not unit:
        return {}
    found = {"unit": unit}
    if system == "UCUM" and code:
        found["system"] = UCUM
        found["code"] = code
    return found


def quantity(value: str, comparator: str | None, unit: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"value": number(value)}
    if comparator and comparator in _COMPARATORS:
        found["comparator"] = _COMPARATORS[comparator]
    found.update(unit)
    return found


def value_of(
    obx: Segment, warnings: list[str], unit: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """(the Observation's value[x] element, the value as a person reads it) for OBX-2/OBX-5."""
    kind = obx.get(2).upper()
    reps = obx.repetitions(5)
    if not reps:
        return {}, ""
    where = f"OBX-5 (OBX {obx.get(1) or '?'})"
    if kind == "" and len(reps) == 1 and _NM.fullmatch(obx.get(5, 1).strip()):
        kind = "NM"  # no value type sent, but a number is a number
    if kind in TEXT_TYPES or kind == "":
        text = "\n".join(obx.text(5, rep) for rep in range(len(reps))).strip()
        return ({"valueString": text}, text) if text else ({}, "")
    if len(reps) > 1 and kind not in ("CE", "CWE", "CNE", "CF") and sum(1 for rep in reps if rep) > 1:
        warnings.append(f"{where} repeats {len(reps)} values; the first is kept")
    if kind == "NM":
        raw = obx.get(5, 1)
        match = _NM.fullmatch(raw.strip())
        if match:
            unit = unit_of(obx) if unit is None else unit
            comparator = match[1] if match[1] != "=" else None
            found = quantity(match[2], comparator, unit)
            return {"valueQuantity": found}, f"{comparator or ''}{match[2]} {unit.get('unit', '')}".strip()
        text = obx.text(5)
        warnings.append(f"{where} {raw!r} is not a number; kept as text")
        return ({"valueString": text}, text) if text else ({}, "")
    if kind == "SN":
        return _structured_numeric(obx, warnings, where, unit_of(obx) if unit is None else unit)
    if kind in ("CE", "CWE", "CNE", "CF"):
        found = concept(obx, 5)
        if found:
            return {"valueCodeableConcept": found}, str(found.get("text") or found["coding"][0]["code"])
        return {}, ""
    if kind in ("DT", "DTM", "TS"):
        moment = parse_moment(obx.get(5, 1))
        if moment:
            return {"valueDateTime": moment.fhir}, moment.fhir
    if kind == "TM":
        raw = obx.get(5, 1)
        match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.\d+)?(?:[+-]\d{4})?", raw)
        if match and int(match[1]) < 24 and int(match[2] or 0) < 60 and int(match[3] or 0) < 60:
            value = f"{match[1]}:{match[2] or '00'}:{match[3] or '00'}"
            return {"valueTime": value}, value
    text = " ".join(part for part in obx.text(5).split(obx.delimiters.component) if part).strip()
    if kind not in ("DT", "DTM", "TS", "TM"):
        warnings.append(f"{where} value type {kind!r} is kept as text")
    return ({"valueString": text}, text) if text else ({}, "")


def _structured_numeric(
    obx: Segment, warnings: list[str], where: str, unit: dict[str, str]
) -> tuple[dict[str, Any], str]:
    comparator, first, separator, second = obx.values(5, 4)
    try:
        if first and not separator and not second:
            found = quantity(first, comparator if comparator != "=" else None, unit)
            text = f"{comparator if comparator != '=' else ''}{first} {unit.get('unit', '')}".strip()
            return {"valueQuantity": found}, text
        if first and second and separator in ("-", "--"):
            low, high = {"value": number(first), **unit}, {"value": number(second), **unit}
            return {
                "valueRange": {"low": low, "high": high}
            }, f"{first}-{second} {unit.get('unit', '')}".strip()
        if first and second and separator in (":", "/"):
            ratio = {"numerator": {"value": number(first)}, "denominator": {"value": number(second)}}
            return {"valueRatio": ratio}, f"{first}{separator}{second}"
    except ValueError:
        pass
    text = "".join(part for part in (comparator, first, separator, second) if part)
    warnings.append(f"{where} structured numeric {text!r} is kept as text")
    return ({"valueString": text}, text) if text else ({}, "")


def reference_range(obx: Segment, unit: dict[str, str]) -> list[dict[str, Any]]:
    text = obx.text(7).strip()
    stripped = text.strip("[] ").strip()
    if not stripped:
        return []
    found: dict[str, Any] = {}
    match = _RANGE.fullmatch(stripped)
    bound = None if match else _BOUND.fullmatch(stripped)
    try:
        if match:
            found["low"] = {"value": number(match[1]), **unit}
            found["high"] = {"value": number(match[2]), **unit}
        elif bound:
            side = "high" if bound[1] in ("<", "<=", "≤") else "low"
            found[side] = {"value": number(bound[2]), **unit}
    except ValueError:
        found = {}
    found["text"] = stripped
    return [found]


def interpretation(obx: Segment) -> tuple[list[dict[str, Any]], list[str]]:
    concepts: list[dict[str, Any]] = []
    flags: list[str] = []
    for rep in range(len(obx.repetitions(8))):
        flag = code_value(obx.get(8, 1, repetition=rep).upper())
        if not flag:
            continue
        flags.append(flag)
        if flag in INTERPRETATION_CODES:
            coded: dict[str, str] = {"system": INTERPRETATION, "code": flag}
            if flag in INTERPRETATION_TEXT:
                coded["display"] = INTERPRETATION_TEXT[flag]
            concepts.append({"coding": [coded], "text": INTERPRETATION_TEXT.get(flag, flag)})
        else:
            concepts.append({"text": obx.get(8, 2, repetition=rep) or flag})
    return concepts, flags


def attachment(obx: Segment, warnings: list[str]) -> dict[str, Any] | None:
    """An ED (source^type^subtype^encoding^data) or RP value as a FHIR Attachment with its data."""
    kind = obx.get(2).upper()
    where = f"OBX-5 (OBX {obx.get(1) or '?'})"
    if kind == "RP":
        pointer = obx.get(5, 1)
        if pointer and re.fullmatch(r"\S+", pointer):
            return {"url": pointer, "title": obx.get(3, 2) or "Referenced document"}
        warnings.append(f"{where} reference pointer is empty; not kept")
        return None
    type_of, subtype, encoding = obx.get(5, 2), obx.get(5, 3), obx.get(5, 4).upper()
    data = "".join(obx[5].split(obx.delimiters.component)[4:5]).strip() if obx[5] else ""
    data = re.sub(r"\s+", "", obx.unescape(data))
    if not data:
        warnings.append(f"{where} embedded document carries no data; not kept")
        return None
    major = _ED_TYPES.get(type_of.upper(), type_of.lower() or "application")
    content_type = f"{major}/{subtype.lower()}" if subtype else "application/octet-stream"
    try:
        if encoding in ("BASE64", "B64", ""):
            raw = base64.b64decode(data, validate=True)
        elif encoding == "HEX":
            raw = bytes.fromhex(data)
        elif encoding == "A":
            raw = obx.unescape(obx[5].split(obx.delimiters.component)[4]).encode("utf-8")
        else:
            warnings.append(f"{where} encoding {encoding!r} is unknown; not kept")
            return None
    except (binascii.Error, ValueError):
        warnings.append(f"{where} is not valid {encoding or 'Base64'}; not kept")
        return None
    found: dict[str, Any] = {
        "contentType": re.sub(r"\s+", "", content_type),
        "data": base64.b64encode(raw).decode("ascii"),
        "size": len(raw),
    }
    title = obx.get(3, 2) or obx.get(3, 1)
    if title:
        found["title"] = title
    return found


def text_attachment(text: str, title: str = "") -> dict[str, Any]:
    raw = text.encode("utf-8")
    found: dict[str, Any] = {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(raw).decode("ascii"),
        "size": len(raw),
    }
    if title:
        found["title"] = title
    return found
