"""Patient → PatientIdentity and PatientDraft (demographics as records.services.PERSON_FIELDS names them)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from ingestion.canonical import AddressDraft, LocalId, PatientDraft, PatientIdentity
from ingestion.fhir.common import (
    GMP_SYSTEM,
    as_list,
    codings,
    dicts,
    is_nhs_number_system,
    is_ods_system,
    parse_date,
    parse_datetime,
)
from ingestion.fhir.references import BundleIndex
from ingestion.fhir.sensitivity import is_restricted
from records import nhs_numbers

VERIFICATION_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_ENGLAND = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
_VERIFICATION_RETIRED = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus"
_VERIFICATION_WALES = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusWales"
_VERIFICATION_DISPLAY = {
    "01": "Number present and verified",
    "02": "Number present but not traced",
    "03": "Trace required",
    "04": "Trace attempted - No match or multiple match found",
    "05": "Trace needs to be resolved - (NHS number or patient detail conflict)",
    "06": "Trace in progress",
    "07": "Number not present and trace not required",
    "08": "Trace postponed (baby under six weeks old)",
}
# UK Core 2.x gave the retired system slug codes; PDS and UK Core 1.x send 01-08 in it.
_VERIFICATION_SLUGS = {
    "number-present-and-verified": "01",
    "number-present-but-not-traced": "02",
    "trace-required": "03",
    "trace-attempted": "04",
    "trace-needs-to-be-resolved": "05",
    "trace-in-progress": "06",
    "number-not-present-and-trace-not-required": "07",
    "trace-postponed": "08",
}
_NAME_PREFERENCE = ("usual", "official", "", "temp", "anonymous")


def _verification_extension(identifier: dict[str, Any]) -> dict[str, Any] | None:
    for extension in dicts(identifier.get("extension")):
        if str(extension.get("url", "")).endswith("NHSNumberVerificationStatus"):
            return extension
    return None


def verification_code(identifier: dict[str, Any]) -> str:
    """The 01-08 status from any of the three code systems seen in real data; "" if none fits."""
    extension = _verification_extension(identifier)
    for coding in codings(extension.get("valueCodeableConcept")) if extension else []:
        system, code = coding.get("system", ""), str(coding["code"])
        base = system.replace("https://fhir.nhs.uk/R4/", "https://fhir.hl7.org.uk/")
        if base in (VERIFICATION_ENGLAND, _VERIFICATION_RETIRED, _VERIFICATION_WALES):
            code = _VERIFICATION_SLUGS.get(code, code)
            if code in _VERIFICATION_DISPLAY:
                return code
    return ""


def patient_identity(resource: dict[str, Any]) -> tuple[PatientIdentity, list[str]]:
    """The NHS number (with its verification status) and every other identifier as a LocalId."""
    identity = PatientIdentity()
    warnings: list[str] = []
    for identifier in dicts(resource.get("identifier")):
        value = identifier.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        system = identifier.get("system") if isinstance(identifier.get("system"), str) else ""
        if is_nhs_number_system(system):
            number = nhs_numbers.normalise(value)
            if identity.nhs_number and identity.nhs_number != number:
                warnings.append(f"Patient has two NHS numbers; {number} is ignored")
                continue
            identity.nhs_number = number
            identity.nhs_number_status = verification_code(identifier)
            if not nhs_numbers.is_valid(number):
                warnings.append(f"NHS number {value!r} fails the Modulus 11 check")
        else:
            type_codes = [c["code"] for c in codings(identifier.get("type"))]
            identity.local_ids.append(LocalId(system, value.strip(), type_codes[0] if type_codes else ""))
    return identity, warnings


def _current(item: dict[str, Any], as_of: datetime) -> bool:
    period = item.get("period") if isinstance(item.get("period"), dict) else {}
    start, end = parse_datetime(period.get("start")), parse_datetime(period.get("end"), end=True)
    return (start is None or start <= as_of) and (end is None or end >= as_of)


def _pick_name(names: list[dict[str, Any]], as_of: datetime) -> dict[str, Any] | None:
    # Name periods in test data are often long past; a patient still has a name, so fall back to any.
    for candidates in ([n for n in names if _current(n, as_of)], names):
        for use in _NAME_PREFERENCE:
            for name in candidates:
                if name.get("use", "") == use:
                    return name
    return None


def _address(addresses: list[dict[str, Any]], as_of: datetime) -> AddressDraft | None:
    for address in addresses:
        if address.get("use", "home") != "home" or not _current(address, as_of):
            continue
        lines = [str(line) for line in as_list(address.get("line")) if line]
        if not lines and not address.get("postalCode"):
            continue
        return AddressDraft(
            lines="\n".join(lines),
            town=str(address.get("city") or ""),
            county=str(address.get("district") or ""),
            postcode=str(address.get("postalCode") or "").upper().strip(),
        )
    return None


def _telecom(resource: dict[str, Any], as_of: datetime) -> dict[str, str]:
    found: dict[str, str] = {}
    for contact in dicts(resource.get("telecom")):
        value = contact.get("value")
        if not isinstance(value, str) or not value or not _current(contact, as_of):
            continue
        system, use = contact.get("system"), contact.get("use", "")
        if system == "phone" and use == "mobile":
            found.setdefault("phone_mobile", value)
        elif system == "phone" and use in ("home", ""):
            found.setdefault("phone_home", value)
        elif system == "email":
            found.setdefault("email", value)
    return found


def _general_practice(
    resource: dict[str, Any], index: BundleIndex, base_url: str | None
) -> tuple[str, str, str]:
    """(practice ODS code, GP GMP code, GP name) from generalPractitioner."""
    ods = gp_code = gp_name = ""
    for reference in dicts(resource.get("generalPractitioner")):
        target = index.resolve(reference, base_url, resource.get("contained")) or {}
        kind = target.get("resourceType") or reference.get("type", "")
        identifiers = dicts(target.get("identifier")) + dicts(reference.get("identifier"))
        if kind == "PractitionerRole":
            organisation = index.resolve(target.get("organization"), base_url) or {}
            identifiers += dicts(organisation.get("identifier")) + dicts(
                (target.get("organization") or {}).get("identifier")
            )
            practitioner = index.resolve(target.get("practitioner"), base_url) or {}
            identifiers += dicts(practitioner.get("identifier"))
            target = practitioner or target
        for identifier in identifiers:
            system, value = identifier.get("system"), identifier.get("value")
            if is_ods_system(system) and value and not ods:
                ods = str(value)
            elif system == GMP_SYSTEM and value and not gp_code:
                gp_code = str(value)
                gp_name = gp_name or _practitioner_name(target, reference)
        if kind == "Practitioner" and not gp_name:
            gp_name = _practitioner_name(target, reference)
    return ods, gp_code, gp_name


def _practitioner_name(target: dict[str, Any], reference: dict[str, Any]) -> str:
    from ingestion.fhir.common import first_name

    return first_name(target) if target.get("name") else str(reference.get("display") or "")


def normalised_patient_resource(resource: dict[str, Any], nhs_status: str) -> dict[str, Any]:
    """A copy whose NHS number verification status is written in the England code system."""
    resource = copy.deepcopy(resource)
    for identifier in dicts(resource.get("identifier")):
        extension = _verification_extension(identifier)
        if is_nhs_number_system(identifier.get("system")) and extension and nhs_status:
            extension["url"] = VERIFICATION_EXTENSION
            extension["valueCodeableConcept"] = {
                "coding": [
                    {
                        "system": VERIFICATION_ENGLAND,
                        "code": nhs_status,
                        "display": _VERIFICATION_DISPLAY[nhs_status],
                    }
                ]
            }
    return resource


def patient_demographics(
    resource: dict[str, Any],
    *,
    identity: PatientIdentity,
    index: BundleIndex,
    base_url: str | None,
    as_of: datetime,
) -> tuple[dict[str, Any], str, AddressDraft | None, list[str]]:
    """(demographics, practice ODS code, current home address, warnings) of one Patient resource.

    Only what the resource holds is set: a source that sends no telephone number leaves the one we
    have alone rather than clearing it.
    """
    warnings: list[str] = []
    values: dict[str, Any] = {"is_restricted": is_restricted(resource)}
    if identity.nhs_number and identity.nhs_number_status:
        values["nhs_number_status"] = identity.nhs_number_status
    name = _pick_name(dicts(resource.get("name")), as_of)
    if name:
        given = " ".join(str(part) for part in as_list(name.get("given")) if part)
        if given:
            values["given_names"] = given
        if name.get("family"):
            values["family_name"] = str(name["family"])
        prefixes = as_list(name.get("prefix"))
        if prefixes and prefixes[0]:
            values["title"] = str(prefixes[0])
    for nickname in dicts(resource.get("name")):
        if nickname.get("use") == "nickname" and nickname.get("given"):
            values["preferred_name"] = " ".join(str(part) for part in as_list(nickname["given"]))
            break
    if resource.get("gender") in ("male", "female", "other", "unknown"):
        values["gender"] = resource["gender"]
    born: date | None = parse_date(resource.get("birthDate"))
    if born:
        values["date_of_birth"] = born
    elif resource.get("birthDate"):
        warnings.append(f"Patient.birthDate {resource['birthDate']!r} is not a full date; not applied")
    died = parse_date(resource.get("deceasedDateTime"))
    if died:
        values["date_of_death"] = died
    values.update(_telecom(resource, as_of))
    ods, gp_code, gp_name = _general_practice(resource, index, base_url)
    if gp_code:
        values["registered_gp_code"] = gp_code
    if gp_name:
        values["registered_gp_name"] = gp_name
    return values, ods, _address(dicts(resource.get("address")), as_of), warnings


def identity_only_draft(identity: PatientIdentity, source_updated_at: datetime) -> PatientDraft:
    """A patient named only by a reference: match on the identity, change no demographics."""
    return PatientDraft(identity=identity, source_updated_at=source_updated_at)
