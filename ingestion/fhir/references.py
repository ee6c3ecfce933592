"""What a body's references point at: other entries (urn:uuid, relative, absolute), contained resources,
conditional references (`Patient?identifier=system|value`) and logical references (`identifier`)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingestion.canonical import LocalId, PatientIdentity
from ingestion.fhir.common import NHS_NUMBER_SYSTEM, dicts, first_name, is_nhs_number_system
from records import nhs_numbers

# Resources kept whole while reading a body, because other entries are resolved against them.
DIRECTORY_TYPES = frozenset(
    {
        "Patient",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Medication",
        "Location",
        "HealthcareService",
    }
)
_TYPED_TAIL = re.compile(
    r"^(?P<base>.*?)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(/_history/[^/]+)?$"
)


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """Just enough of every entry to rewrite references to it once the entry itself is gone."""

    resource_type: str
    resource_id: str | None
    identifier: tuple[str, str] | None


@dataclass
class PatientRef:
    """A patient named by the body: its identity key, and the Patient entry when there is one."""

    key: str
    identity: PatientIdentity
    entry: int | None = None


def identity_key(identity: PatientIdentity) -> str:
    if identity.nhs_number:
        return f"nhs:{identity.nhs_number}"
    first = identity.local_ids[0]
    return f"local:{first.system}|{first.value}"


def identity_reference(identity: PatientIdentity, display: str = "") -> dict[str, Any]:
    """The form every stored resource uses for its patient: the NHS number, else the local identifier."""
    if identity.nhs_number:
        identifier = {"system": NHS_NUMBER_SYSTEM, "value": identity.nhs_number}
    else:
        local = identity.local_ids[0]
        identifier = (
            {"system": local.system, "value": local.value} if local.system else {"value": local.value}
        )
    reference: dict[str, Any] = {"type": "Patient", "identifier": identifier}
    if display:
        reference["display"] = display
    return reference


def identity_from_identifier(identifier: Any) -> PatientIdentity | None:
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return None
    value = identifier["value"].strip()
    if not value:
        return None
    system = identifier.get("system") if isinstance(identifier.get("system"), str) else ""
    if is_nhs_number_system(system):
        return PatientIdentity(nhs_number=nhs_numbers.normalise(value))
    return PatientIdentity(local_ids=[LocalId(system=system, value=value)])


def conditional_identifier(reference: str) -> tuple[str, dict[str, str]] | None:
    """`Patient?identifier=system|value` → ("Patient", {"system": ..., "value": ...})."""
    resource_type, _, query = reference.partition("?")
    if not query or not re.fullmatch(r"[A-Z][A-Za-z]+", resource_type):
        return None
    values = parse_qs(query).get("identifier")
    if not values:
        return None
    system, bar, value = values[0].rpartition("|")
    return resource_type, {"system": system if bar else "", "value": value}


@dataclass
class BundleIndex:
    """Every entry by fullUrl and Type/id, the directory resources whole, and the patients."""

    by_url: dict[str, int] = field(default_factory=dict)
    by_type_id: dict[str, int] = field(default_factory=dict)
    entries: dict[int, EntryInfo] = field(default_factory=dict)
    directory: dict[int, dict[str, Any]] = field(default_factory=dict)
    patients: dict[int, PatientRef] = field(default_factory=dict)
    _patients_by_id: dict[tuple[str, str], PatientRef] = field(default_factory=dict)

    def add(self, index: int, full_url: str | None, resource: dict[str, Any]) -> None:
        resource_type = sys.intern(resource["resourceType"])
        resource_id = resource.get("id") if isinstance(resource.get("id"), str) else None
        identifier = None
        # Read before validation: a malformed `identifier` (a number, a lone object) must not break the index.
        for candidate in dicts(resource.get("identifier")):
            if isinstance(candidate.get("value"), str):
                identifier = (sys.intern(str(candidate.get("system") or "")), candidate["value"])
                break
        self.entries[index] = EntryInfo(resource_type, resource_id, identifier)
        if full_url:
            self.by_url.setdefault(full_url, index)
        if resource_id:
            self.by_type_id.setdefault(f"{resource_type}/{resource_id}", index)
        if resource_type in DIRECTORY_TYPES:
            self.directory[index] = resource

    def add_patient(self, index: int, identity: PatientIdentity) -> PatientRef:
        patient = PatientRef(identity_key(identity), identity, index)
        self.patients[index] = patient
        if identity.nhs_number:
            self._patients_by_id.setdefault(("nhs", identity.nhs_number), patient)
        for local in identity.local_ids:
            self._patients_by_id.setdefault((local.system, local.value), patient)
        return patient

    def find(self, reference: str, base_url: str | None = None) -> int | None:
        """The entry a literal reference points at, resolved as FHIR says for references in a Bundle."""
        if reference in self.by_url:
            return self.by_url[reference]
        if reference.startswith(("urn:", "#")) or "?" in reference:
            return None
        tail = _TYPED_TAIL.match(reference)
        if not tail:
            return None
        if not tail["base"] and base_url:
            base = _TYPED_TAIL.match(base_url)
            if base and base["base"] and f"{base['base']}{reference}" in self.by_url:
                return self.by_url[f"{base['base']}{reference}"]
        # A relative reference, or an absolute one to the sender's server: match on type and id.
        return self.by_type_id.get(f"{tail['type']}/{tail['id']}")

    def resolve(
        self, reference: Any, base_url: str | None = None, contained: Any = None
    ) -> dict[str, Any] | None:
        """The directory resource (or contained resource) a Reference points at, if the body holds it."""
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        target = reference["reference"]
        if target.startswith("#"):
            for resource in contained or []:
                if isinstance(resource, dict) and resource.get("id") == target[1:]:
                    return resource
            return None
        index = self.find(target, base_url)
        return self.directory.get(index) if index is not None else None

    def patient(self, reference: Any, base_url: str | None, contained: Any = None) -> PatientRef | str:
        """The patient a Reference names, or why it names none."""
        if not isinstance(reference, dict):
            return "there is no reference to the patient"
        literal = reference.get("reference") if isinstance(reference.get("reference"), str) else ""
        if literal.startswith("#"):
            resource = self.resolve(reference, base_url, contained)
            identity = _first_identity(resource) if resource else None
            if identity:
                return self._known(identity)
        elif literal and "?" in literal:
            conditional = conditional_identifier(literal)
            if conditional and conditional[0] == "Patient":
                identity = identity_from_identifier(conditional[1])
                if identity:
                    return self._known(identity)
            return f"the conditional reference {literal!r} does not name a patient identifier"
        elif literal:
            index = self.find(literal, base_url)
            if index is not None:
                if index in self.patients:
                    return self.patients[index]
                kind = self.entries[index].resource_type
                if kind == "Patient":
                    return f"{literal} is a Patient without an NHS number or other identifier"
                return f"{literal} is a {kind}, not a Patient"
        identity = identity_from_identifier(reference.get("identifier"))
        if identity:
            return self._known(identity)
        if literal:
            return f"{literal} is not in the body, and the reference has no identifier"
        return "the reference names no patient"

    def _known(self, identity: PatientIdentity) -> PatientRef:
        """A Patient entry with that identifier if the body has one, so its demographics come along."""
        if identity.nhs_number and ("nhs", identity.nhs_number) in self._patients_by_id:
            return self._patients_by_id[("nhs", identity.nhs_number)]
        for local in identity.local_ids:
            if (local.system, local.value) in self._patients_by_id:
                return self._patients_by_id[(local.system, local.value)]
        return PatientRef(identity_key(identity), identity)

    def display_of(self, index: int) -> str:
        resource = self.directory.get(index)
        return first_name(resource) if resource else ""


def _first_identity(resource: dict[str, Any]) -> PatientIdentity | None:
    identifiers = resource.get("identifier") or []
    nhs = next(
        (i for i in identifiers if isinstance(i, dict) and is_nhs_number_system(i.get("system"))), None
    )
    for identifier in [nhs, *identifiers]:
        identity = identity_from_identifier(identifier)
        if identity:
            return identity
    return None


def split_reference(reference: str) -> tuple[str, str] | None:
    """("Patient", "123") from `Patient/123` or an absolute URL ending so."""
    path = urlsplit(reference).path if "://" in reference else reference
    tail = _TYPED_TAIL.match(path)
    return (tail["type"], tail["id"]) if tail else None
