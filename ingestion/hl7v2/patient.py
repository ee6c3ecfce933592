"""PID, PD1 and NK1: who the message is about, their demographics, GP practice and related people."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from ingestion.canonical import AddressDraft, ItemDraft, LocalId, PatientDraft, PatientIdentity
from ingestion.fhir.common import NHS_NUMBER_SYSTEM, ODS_SYSTEM
from ingestion.fhir.items.care import related_person_role
from ingestion.fhir.sensitivity import sensitivity_of
from ingestion.hl7v2.context import prune
from ingestion.hl7v2.datatypes import authority, code_value, identifier, person_name, short, slug_key
from ingestion.hl7v2.reader import Message, Segment, parse_moment
from records import nhs_numbers
from records.models import EntryCategory

# How senders mark PID-3's NHS number: CX.4 assigning authority or CX.5 identifier type.
# `NHS`/`NH` is the NHS England ITK convention; Simulated Hospital writes NHSNBR/NHSNMBR.
NHS_AUTHORITIES = frozenset({"NHS", "NHSNBR", "NHSNUMBER", "NHS-NUMBER", "urn:oid:2.16.840.1.113883.2.1.4.1"})
NHS_TYPES = frozenset({"NH", "NHS", "NHSNMBR", "NHSNBR"})
_ODS = re.compile(r"[A-Z0-9]{3,6}")
_GMP = re.compile(r"G\d{7}")
_GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
_VERIFICATION = frozenset(f"0{n}" for n in range(1, 9))
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
V2_0063 = "http://terminology.hl7.org/CodeSystem/v2-0063"
V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# Table 0063 relationships as v3 RoleCode, so the FHIR mapper's role rules read them alike.
_RELATIONSHIPS = {
    "SPO": "SPS",
    "WIF": "WIFE",
    "HUS": "HUSB",
    "CHD": "CHILD",
    "SON": "SON",
    "DAU": "DAU",
    "PAR": "PRN",
    "MTH": "MTH",
    "FTH": "FTH",
    "SIB": "SIB",
    "BRO": "BRO",
    "SIS": "SIS",
    "GRP": "GRPRN",
    "GCH": "GRNDCHILD",
    "DOM": "DOMPART",
    "FND": "FRND",
    "NBR": "NBOR",
    "GRD": "GUARD",
    "EMC": "ECON",
    "CGV": "CAREGIVER",
    "FAM": "FAMMEMB",
}


@lru_cache(maxsize=4096)
def valid_nhs_number(number: str) -> bool:
    return nhs_numbers.is_valid(number)


def _is_nhs(system: str, type_code: str) -> bool:
    return system.upper() in NHS_AUTHORITIES or system in NHS_AUTHORITIES or type_code.upper() in NHS_TYPES


def identifiers_of(
    segment: Segment, index: int, default_system: str
) -> tuple[list[tuple[str, str, str]], str | None]:
    """(system, value, type) per CX repetition, and the NHS number found among them (as sent)."""
    found: list[tuple[str, str, str]] = []
    nhs: str | None = None
    for rep in range(len(segment.repetitions(index))):
        value = segment.get(index, 1, repetition=rep)
        if not value:
            continue
        type_code = segment.get(index, 5, repetition=rep).upper()
        system = authority(segment, index, rep) or authority(segment, index, rep, component=6)
        if _is_nhs(system, type_code):
            nhs = nhs or nhs_numbers.normalise(value)
            continue
        found.append((system or default_system, value, type_code[:8]))
    return found, nhs


def patient_identity(pid: Segment, default_system: str) -> tuple[PatientIdentity, list[str]]:
    """PID-3 (then the deprecated PID-2 and PID-4): the NHS number and every other id as a LocalId.

    The NHS number is kept as sent; the pipeline checks its check digit and never stores a bad one.
    """
    warnings: list[str] = []
    identity = PatientIdentity()
    seen: set[tuple[str, str]] = set()
    for index in (3, 2, 4):
        found, nhs = identifiers_of(pid, index, default_system)
        if nhs and not identity.nhs_number:
            identity.nhs_number = nhs
        elif nhs and nhs != identity.nhs_number:
            warnings.append(f"PID-{index} holds a second NHS number {nhs}; ignored")
        for system, value, type_code in found:
            if (system, value) not in seen:
                seen.add((system, value))
                identity.local_ids.append(LocalId(system, value, type_code))
    if identity.nhs_number:
        if not valid_nhs_number(identity.nhs_number):
            warnings.append(
                f"PID-3 NHS number {identity.nhs_number!r} is not a valid NHS number (check digit or range)"
            )
        status = pid.get(32).strip()
        if status in _VERIFICATION:
            identity.nhs_number_status = status
    return identity, warnings


def patient_reference(identity: PatientIdentity, display: str = "") -> dict[str, Any]:
    """How every resource names its patient: a valid NHS number, else the first local id."""
    reference: dict[str, Any] = {"type": "Patient"}
    if identity.nhs_number and valid_nhs_number(identity.nhs_number):
        reference["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": identity.nhs_number}
    elif identity.local_ids:
        local = identity.local_ids[0]
        reference["identifier"] = identifier(local.system, local.value)
    elif identity.nhs_number:
        reference["identifier"] = {"value": identity.nhs_number}
    if display:
        reference["display"] = display
    if "identifier" not in reference and not display:
        reference["display"] = "Unidentified patient"
    return reference


def patient_key(identity: PatientIdentity) -> str:
    """A patient part for keys of items that have no id of their own (next of kin)."""
    if identity.local_ids:
        return f"{identity.local_ids[0].system}|{identity.local_ids[0].value}"
    return f"nhs|{identity.nhs_number or ''}"


def _name_repetition(pid: Segment) -> int:
    reps = pid.repetitions(5)
    for rep in range(len(reps)):
        usable = pid.get(5, 1, 1, rep) or pid.get(5, 2, repetition=rep)
        if usable and pid.get(5, 7, repetition=rep).upper() in ("L", ""):
            return rep
    return 0


def _phones(pid: Segment) -> dict[str, str]:
    found: dict[str, str] = {}
    for index in (13, 14):
        for rep in range(len(pid.repetitions(index))):
            use = pid.get(index, 2, repetition=rep).upper()
            equipment = pid.get(index, 3, repetition=rep).upper()
            email = pid.get(index, 4, repetition=rep)
            number = pid.get(index, 1, repetition=rep) or pid.get(index, 12, repetition=rep)
            if not number:
                area, local = pid.get(index, 6, repetition=rep), pid.get(index, 7, repetition=rep)
                number = f"{area} {local}".strip()
            if equipment in ("INTERNET", "X.400") or (use == "NET" and email):
                if email:
                    found.setdefault("email", email)
                continue
            if not number:
                continue
            if equipment == "CP":
                found.setdefault("phone_mobile", number)
            elif index == 13:
                found.setdefault("phone_home", number)
    return found


def _address(pid: Segment) -> AddressDraft | None:
    reps = pid.repetitions(11)
    chosen = 0
    for rep in range(len(reps)):
        if pid.get(11, 7, repetition=rep).upper() in ("H", "HOME", "P"):
            chosen = rep
            break
    lines = [pid.get(11, 1, 1, chosen), pid.get(11, 2, repetition=chosen)]
    postcode = pid.get(11, 5, repetition=chosen).upper()
    lines = [line for line in lines if line]
    if not lines and not postcode:
        return None
    return AddressDraft(
        lines="\n".join(lines),
        town=pid.get(11, 3, repetition=chosen),
        county=pid.get(11, 4, repetition=chosen),
        postcode=postcode,
    )


def _practice(pd1: Segment | None) -> tuple[str, str, str, list[str]]:
    """(practice ODS, GP code, GP name, warnings) from PD1-3 and PD1-4."""
    if pd1 is None:
        return "", "", "", []
    warnings: list[str] = []
    ods = ""
    for candidate in (pd1.get(3, 10), pd1.get(3, 3), pd1.get(3, 1)):
        candidate = candidate.strip().upper()
        if candidate and _ODS.fullmatch(candidate) and any(ch.isalpha() for ch in candidate):
            ods = candidate
            break
    if not ods and (pd1.get(3, 3) or pd1.get(3, 10)):
        sent = pd1.get(3, 10) or pd1.get(3, 3)
        warnings.append(f"PD1-3 practice code {sent!r} is not an ODS code; not applied")
    gp_code = pd1.get(4, 1).strip().upper()
    gp_name = person_name(pd1, 4, offset=1)
    if gp_code and not _GMP.fullmatch(gp_code):
        gp_code = ""
    return ods, gp_code, gp_name, warnings


def patient_draft(
    message: Message, pid: Segment, identity: PatientIdentity, updated_at: datetime
) -> tuple[PatientDraft, list[str]]:
    """Demographics as PERSON_FIELDS names them; only what PID sends is set, so gaps clear nothing."""
    warnings: list[str] = []
    values: dict[str, Any] = {}
    rep = _name_repetition(pid)
    family = pid.get(5, 1, 1, rep)
    given = " ".join(part for part in (pid.get(5, 2, repetition=rep), pid.get(5, 3, repetition=rep)) if part)
    if family:
        values["family_name"] = family[:100]
    if given:
        values["given_names"] = given[:100]
    title = pid.get(5, 5, repetition=rep)
    if title:
        values["title"] = title[:40]
    for other in range(len(pid.repetitions(5))):
        nickname = pid.get(5, 2, repetition=other) or pid.get(5, 1, 1, other)
        if pid.get(5, 7, repetition=other).upper() == "N" and nickname:
            values["preferred_name"] = nickname[:100]
            break
    sex = pid.get(8).upper()
    if sex in _GENDERS:
        values["gender"] = _GENDERS[sex]
    born_text = pid.get(7)
    born = parse_moment(born_text)
    if born and born.date:
        values["date_of_birth"] = born.date
    elif born_text:
        warnings.append(f"PID-7 date of birth {born_text!r} is not a full date; not applied")
    died = parse_moment(pid.get(29))
    if died and died.date:
        values["date_of_death"] = died.date
    values.update(_phones(pid))
    if identity.nhs_number_status:
        values["nhs_number_status"] = identity.nhs_number_status
    ods, gp_code, gp_name, practice_warnings = _practice(message.first("PD1"))
    warnings += practice_warnings
    if gp_code:
        values["registered_gp_code"] = gp_code
    if gp_name:
        values["registered_gp_name"] = gp_name[:100]
    address = _address(pid)
    resource = _patient_resource(identity, values, address, ods)
    prune(resource)
    draft = PatientDraft(
        identity=identity,
        source_updated_at=updated_at,
        demographics=values,
        registered_practice_ods=ods,
        address=address,
        resource=resource,
    )
    return draft, warnings


def _patient_resource(
    identity: PatientIdentity, values: dict[str, Any], address: AddressDraft | None, ods: str
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient"}
    identifiers = []
    if identity.nhs_number and valid_nhs_number(identity.nhs_number):
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": identity.nhs_number})
    identifiers += [identifier(local.system, local.value, local.type_code) for local in identity.local_ids]
    if identifiers:
        resource["identifier"] = identifiers
    name: dict[str, Any] = {}
    if values.get("family_name"):
        name["family"] = values["family_name"]
    if values.get("given_names"):
        name["given"] = values["given_names"].split()
    if values.get("title"):
        name["prefix"] = [values["title"]]
    if name:
        resource["name"] = [{"use": "official", **name}]
    telecom = [
        {"system": system, "value": values[key], **({"use": use} if use else {})}
        for key, system, use in (
            ("phone_home", "phone", "home"),
            ("phone_mobile", "phone", "mobile"),
            ("email", "email", ""),
        )
        if values.get(key)
    ]
    if telecom:
        resource["telecom"] = telecom
    if values.get("gender"):
        resource["gender"] = values["gender"]
    if values.get("date_of_birth"):
        resource["birthDate"] = values["date_of_birth"].isoformat()
    if values.get("date_of_death"):
        resource["deceasedDateTime"] = values["date_of_death"].isoformat()
    if address:
        fhir_address: dict[str, Any] = {"use": "home"}
        if address.lines:
            fhir_address["line"] = [line for line in address.lines.splitlines() if line.strip()]
        for key, value in (("city", address.town), ("district", address.county)):
            if value:
                fhir_address[key] = value
        if address.postcode:
            fhir_address["postalCode"] = address.postcode
        resource["address"] = [fhir_address]
    if ods:
        resource["generalPractitioner"] = [
            {"type": "Organization", "identifier": {"system": ODS_SYSTEM, "value": ods}}
        ]
    return resource


def patient_display(pid: Segment) -> str:
    rep = _name_repetition(pid)
    return person_name(pid, 5, rep)


# --- NK1: next of kin and carers -------------------------------------------------------------------


def related_people(
    message: Message,
    identity: PatientIdentity,
    reference: dict[str, Any],
    updated_at: datetime,
    source: str,
) -> list[ItemDraft]:
    items: list[ItemDraft] = []
    keys: set[str] = set()
    for nk1 in message.all("NK1"):
        name = person_name(nk1, 2)
        organisation = nk1.get(13, 1)
        if not name and not organisation:
            continue
        resource: dict[str, Any] = {"resourceType": "RelatedPerson", "patient": reference, "active": True}
        own_id = nk1.get(33, 1)
        if own_id:
            resource["identifier"] = [identifier(authority(nk1, 33) or source, own_id)]
        if name:
            fhir_name: dict[str, Any] = {}
            if nk1.get(2, 1, 1):
                fhir_name["family"] = nk1.get(2, 1, 1)
            given = [part for part in (nk1.get(2, 2), nk1.get(2, 3)) if part]
            if given:
                fhir_name["given"] = given
            if nk1.get(2, 5):
                fhir_name["prefix"] = [nk1.get(2, 5)]
            fhir_name["text"] = name
            resource["name"] = [fhir_name]
        relationships: list[dict[str, Any]] = []
        role_code, role_text = code_value(nk1.get(7, 1).upper()), nk1.get(7, 2)
        if role_code:
            relationships.append(
                {
                    "coding": [
                        {
                            "system": V2_0131,
                            "code": role_code,
                            **({"display": role_text} if role_text else {}),
                        }
                    ],
                    "text": role_text or role_code,
                }
            )
        kin_code, kin_text = code_value(nk1.get(3, 1).upper()), nk1.get(3, 2)
        if kin_code or kin_text:
            kin_codings: list[dict[str, str]] = []
            if kin_code:
                kin_codings.append({"system": V2_0063, "code": kin_code})
                if kin_code in _RELATIONSHIPS:
                    kin_codings.append({"system": V3_ROLE, "code": _RELATIONSHIPS[kin_code]})
            relationship: dict[str, Any] = {"text": kin_text or kin_code}
            if kin_codings:
                relationship["coding"] = kin_codings
            relationships.append(relationship)
        if relationships:
            resource["relationship"] = relationships
        phones = []
        for index, use in ((5, "home"), (6, "work")):
            for rep in range(len(nk1.repetitions(index))):
                number = nk1.get(index, 1, repetition=rep) or nk1.get(index, 12, repetition=rep)
                if number:
                    phones.append({"system": "phone", "value": number, "use": use})
        if phones:
            resource["telecom"] = phones
        lines = [line for line in (nk1.get(4, 1, 1), nk1.get(4, 2)) if line]
        if lines or nk1.get(4, 5):
            address: dict[str, Any] = {}
            if lines:
                address["line"] = lines
            if nk1.get(4, 3):
                address["city"] = nk1.get(4, 3)
            if nk1.get(4, 5):
                address["postalCode"] = nk1.get(4, 5).upper()
            resource["address"] = [address]
        start, end = parse_moment(nk1.get(8)), parse_moment(nk1.get(9))
        if start or end:
            resource["period"] = {
                **({"start": start.fhir} if start else {}),
                **({"end": end.fhir} if end else {}),
            }
        who = own_id or re.sub(r"[^a-z0-9]+", "-", (name or organisation).lower()).strip("-")
        key = slug_key("RelatedPerson", source, patient_key(identity), who)
        if key in keys:
            continue
        keys.add(key)
        relationship_text = " / ".join(r["text"] for r in relationships if r.get("text"))
        phone = f", {phones[0]['value']}" if phones else ""
        items.append(
            ItemDraft(
                category=EntryCategory.RELATED_PERSON,
                resource=resource,
                business_key=key,
                source_updated_at=updated_at,
                summary=short(
                    (name or organisation) + (f" ({relationship_text})" if relationship_text else "") + phone
                ),
                subtype=related_person_role(resource),
                occurred_at=start.at if start else None,
                ended_at=end.at if end else None,
                code_system=V2_0063 if kin_code else "",
                code=kin_code[:64],
                code_display=short(kin_text),
                status="active",
                sensitivity=sensitivity_of(resource),
            )
        )
    return items
