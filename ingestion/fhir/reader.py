"""A FHIR body → MappedRecords and OperationOutcome issues, in two passes over the body.

Pass 1 (index) reads every entry once: validates it, keeps the resources that other entries are resolved
against (Patient, Organization, Practitioner, Medication, ...), and notes each clinical entry's patient
reference and each report's results. References are resolved only after the whole body has been seen,
so an entry may point at one that comes later. Pass 2 (map) reads the body again and maps each entry as
it passes; nothing of a mapped entry is kept once its batch has been handed out. JSON is streamed both
times, so a large Bundle is never held whole in memory.

The all-or-nothing rule: a `transaction`, `message` or `document` Bundle with any error yields nothing.
`batch`, `collection`, `searchset`, NDJSON and lone resources drop only the entries in error. Resource
types the record does not hold are skipped with a warning, never an error, or no real bundle (Synthea's
Claims, EPS dispensing) would ever load. See docs/decisions/0008-fhir-and-csv-mapping.md.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.canonical import ItemDraft, MappedRecord, PatientDraft
from ingestion.fhir.common import as_list, business_key, dicts, parse_datetime
from ingestion.fhir.items import MAPPERS, PATIENT_ELEMENT, Skip, pre_skip, skip_reason
from ingestion.fhir.outcome import FhirInputError, Issue, IssueCode, Severity, operation_outcome
from ingestion.fhir.parse import (
    BadLine,
    BundleEntry,
    body_format,
    entry_from,
    iter_bundle_entries,
    iter_ndjson_entries,
    load_whole,
    open_body,
)
from ingestion.fhir.patient import (
    identity_only_draft,
    normalised_patient_resource,
    patient_demographics,
    patient_identity,
)
from ingestion.fhir.references import (
    DIRECTORY_TYPES,
    BundleIndex,
    PatientRef,
    identity_key,
    identity_reference,
)
from ingestion.fhir.rewrite import MapContext, rewrite_references
from ingestion.fhir.validation import is_resource_type, validation_issues

ATOMIC_BUNDLE_TYPES = frozenset({"transaction", "message", "document"})
READ_BUNDLE_TYPES = ATOMIC_BUNDLE_TYPES | {"batch", "collection", "searchset"}
# Read for what other entries point at; never reported as skipped.
SILENT_TYPES = DIRECTORY_TYPES
_LISTED_ENTRIES = 20


@dataclass(slots=True)
class _Pending:
    """Pass 1's note on one clinical entry: where its patient is named, as (reference, identifier)
    pairs rather than the parsed dicts, which cost several times more to keep for every entry."""

    resource_type: str
    full_url: str | None
    patient_refs: list[tuple[str | None, tuple[str, str] | None]]

    def references(self) -> Iterator[dict[str, Any]]:
        for literal, identifier in self.patient_refs:
            reference: dict[str, Any] = {}
            if literal is not None:
                reference["reference"] = literal
            if identifier is not None:
                reference["identifier"] = {"system": identifier[0], "value": identifier[1]}
            yield reference


def _compact(reference: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None]:
    literal = reference.get("reference") if isinstance(reference.get("reference"), str) else None
    identifier = reference.get("identifier")
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        system = identifier.get("system") if isinstance(identifier.get("system"), str) else ""
        return literal, (sys.intern(system), identifier["value"])
    return literal, None


@dataclass
class _Batches:
    """Items waiting to be handed out, per patient key; results wait for their report."""

    items: dict[str, list[ItemDraft]] = field(default_factory=lambda: defaultdict(list))
    size: int = 0
    seen: set[str] = field(default_factory=set)
    waiting: dict[str, list[tuple[str, ItemDraft]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, patient_key: str, item: ItemDraft) -> None:
        parent = item.parent_business_key
        if parent and parent not in self.seen:
            self.waiting[parent].append((patient_key, item))
            return
        self.items[patient_key].append(item)
        self.size += 1
        self.seen.add(item.business_key)
        for child_patient, child in self.waiting.pop(item.business_key, []):
            self.add(child_patient, child)


class FhirReader:
    """One FHIR body (JSON, XML or NDJSON). Never raises for bad input: problems go to `issues`.

    reader = FhirReader(body, content_type="application/fhir+json", received_at=now)
    for record in reader.records():  # streamed in batches: write each, then drop it
        ...
    reader.rejected, reader.outcome()
    """

    def __init__(self, body: bytes | str, *, content_type: str | None, received_at: datetime):
        self.issues: list[Issue] = []
        self.bundle_type: str | None = None
        self.received_at = received_at
        self._body = body
        self._content_type = content_type
        self._format = ""
        self._kind = ""  # "bundle", "resource" or "ndjson"
        self._whole: dict[str, Any] | None = None
        self._header: dict[str, Any] = {}
        self._indexed = False
        self._failed_late = False
        self._reset_index()

    def _reset_index(self) -> None:
        self._index = BundleIndex()
        self._pending: dict[int, _Pending] = {}
        self._reports: list[tuple[str, str | None, list[Any]]] = []
        self._attributed: dict[int, PatientRef] = {}
        self._parents: dict[int, str] = {}
        self._invalid: set[int] = set()
        # (resource type, reason, element) → entries skipped for it
        self._skipped: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        self._patient_warnings: dict[int, list[str]] = {}
        # Hashes of the keys met so far, and the entries that had to fall back to their id.
        self._key_hashes: set[int] = set()
        self._key_fallback: dict[int, str] = {}
        self._drafts: dict[str, PatientDraft] = {}
        self.issues = [issue for issue in self.issues if issue.entry is None]
        # For a response naming each entry's fate: how many entries were read, and the key each mapped
        # entry is stored under (filled as records() is iterated).
        self.entry_count = 0
        self.entry_keys: dict[int, str] = {}

    # ---- results ---------------------------------------------------------------------------------

    @property
    def atomic(self) -> bool:
        return self.bundle_type in ATOMIC_BUNDLE_TYPES

    @property
    def rejected(self) -> bool:
        """Nothing of this body may be stored: it is unreadable, or an all-or-nothing bundle has errors."""
        self._read_index()
        if self._failed_late or any(issue.is_error and issue.entry is None for issue in self.issues):
            return True
        return self.atomic and any(issue.is_error for issue in self.issues)

    def entry_resource_type(self, at: int) -> str | None:
        """The resourceType of entry `at`, once the body has been read; None if it had none."""
        self._read_index()
        info = self._index.entries.get(at)
        return info.resource_type if info is not None else None

    def patient_key_of(self, at: int) -> str | None:
        """For a Patient entry, the key its person is matched by (an NHS or local number)."""
        self._read_index()
        patient = self._index.patients.get(at)
        return patient.key if patient is not None else None

    def outcome(self) -> dict[str, Any]:
        """The OperationOutcome to answer the sender with."""
        self._read_index()
        return operation_outcome(self.issues)

    def records(self, *, batch_size: int = 500) -> Iterator[MappedRecord]:
        """MappedRecords of at most about `batch_size` items, each for one patient, in body order.

        A patient's items may be spread over several records; a report always comes before or with its
        results. Should `rejected` become true during the iteration (a mapping failure in an
        all-or-nothing bundle, which pass 1 is there to rule out), undo what was written.
        """
        self._read_index()
        if not self.rejected:
            yield from self._map(batch_size)

    # ---- reading the body ----------------------------------------------------------------------

    def _issue(
        self, severity: Severity, code: IssueCode, text: str, element: str = "", entry: int | None = None
    ) -> None:
        if self._kind == "resource":
            entry = None
        self.issues.append(
            Issue(severity, code, text, element=element, entry=entry, in_bundle=self._kind != "ndjson")
        )

    def _entries(self) -> Iterator[BundleEntry]:
        if self._format == "ndjson":
            for entry in iter_ndjson_entries(open_body(self._body)):
                if isinstance(entry, BundleEntry):
                    yield entry
            return
        if self._format == "json" and self._whole is None:
            yield from iter_bundle_entries(open_body(self._body))
            return
        assert self._whole is not None
        if self._kind == "bundle":
            for position, raw in enumerate(as_list(self._whole.get("entry"))):
                yield entry_from(position, raw)
        else:
            yield BundleEntry(0, {"resource": self._whole}, resource=self._whole)

    def _first_pass_entries(self) -> Iterator[BundleEntry]:
        if self._format == "ndjson":
            self._kind = "ndjson"
            for entry in iter_ndjson_entries(open_body(self._body)):
                if isinstance(entry, BadLine):
                    self._issue(Severity.ERROR, IssueCode.STRUCTURE, entry.message, entry=entry.index)
                else:
                    yield entry
            return
        if self._format == "json":
            header: dict[str, Any] = {}
            self._kind = "bundle"
            for entry in iter_bundle_entries(open_body(self._body), header):
                if header.get("resourceType", "Bundle") != "Bundle":
                    break
                yield entry
            if header.get("resourceType") == "Bundle":
                self._set_header(header)
                return
            # A lone resource (or resourceType came after an `entry` member): read it whole, afresh.
            self._reset_index()
        self._whole = load_whole(self._body, self._format)
        self._set_header(self._whole)
        yield from self._entries()

    def _set_header(self, top: dict[str, Any]) -> None:
        resource_type = top.get("resourceType")
        if not isinstance(resource_type, str) or not resource_type:
            raise FhirInputError(
                Issue(
                    Severity.ERROR,
                    IssueCode.REQUIRED,
                    "The body has no resourceType: it is not a FHIR resource",
                )
            )
        if resource_type != "Bundle":
            self._kind = "resource"
            return
        self._kind = "bundle"
        self._header = {k: v for k, v in top.items() if k != "entry"}
        bundle_type = top.get("type")
        self.bundle_type = bundle_type if isinstance(bundle_type, str) else None
        if self.bundle_type not in READ_BUNDLE_TYPES:
            raise FhirInputError(
                Issue(
                    Severity.ERROR,
                    IssueCode.NOT_SUPPORTED if self.bundle_type else IssueCode.REQUIRED,
                    f"Bundle type {self.bundle_type!r} is not accepted; send one of "
                    + ", ".join(sorted(READ_BUNDLE_TYPES)),
                    element="Bundle.type",
                )
            )
        if "entry" in top and not isinstance(top["entry"], list):
            raise FhirInputError(
                Issue(Severity.ERROR, IssueCode.STRUCTURE, "must be an array", "Bundle.entry")
            )

    # ---- pass 1 ------------------------------------------------------------------------------------

    def _read_index(self) -> None:
        if self._indexed:
            return
        self._indexed = True
        try:
            self._format = body_format(self._content_type, self._body)
            for entry in self._first_pass_entries():
                self._index_entry(entry)
        except FhirInputError as exc:
            self.issues.append(exc.issue)
            return
        self._resolve()

    def _index_entry(self, entry: BundleEntry) -> None:
        at = entry.index
        self.entry_count = max(self.entry_count, at + 1)
        if not isinstance(entry.raw, dict):
            self._issue(Severity.ERROR, IssueCode.STRUCTURE, "the entry is not an object", "Bundle.entry", at)
            return
        resource = entry.resource
        if resource is None:
            method = str((entry.request or {}).get("method", ""))
            if method in ("GET", "HEAD", "DELETE", "PATCH"):
                self._issue(
                    Severity.WARNING,
                    IssueCode.NOT_SUPPORTED,
                    f"{method} requests are not carried out",
                    "Bundle.entry.request.method",
                    entry=at,
                )
            else:
                self._issue(
                    Severity.ERROR,
                    IssueCode.REQUIRED,
                    "the entry has no resource",
                    "Bundle.entry.resource",
                    at,
                )
            return
        if not isinstance(resource, dict):
            self._issue(Severity.ERROR, IssueCode.STRUCTURE, "is not an object", "Bundle.entry.resource", at)
            return
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str) or not is_resource_type(resource_type):
            text = (
                "the resource has no resourceType"
                if resource_type is None
                else f"{resource_type!r} is not a FHIR R4 resource type"
            )
            code = IssueCode.REQUIRED if resource_type is None else IssueCode.NOT_SUPPORTED
            self._issue(Severity.ERROR, code, text, element="Resource.resourceType", entry=at)
            return
        # Validation is most of the cost of a bundle: resources neither stored nor read for references
        # (Claim, ExplanationOfBenefit...) are reported as skipped without it.
        used = resource_type in MAPPERS or resource_type in DIRECTORY_TYPES
        problems = validation_issues(resource) if used else []
        for code, element, message in problems:
            self._issue(Severity.ERROR, code, message, element=element, entry=at)
        if problems:
            self._invalid.add(at)
        self._index.add(at, entry.full_url, resource)
        if resource_type == "Patient":
            self._index_patient(at, resource)
        elif resource_type in MAPPERS and not problems:
            skip = pre_skip(resource)
            if skip:
                self._skipped[(resource_type, skip.reason, skip.element)].append(at)
            else:
                self._note_clinical(at, entry.full_url, resource)
        elif resource_type not in SILENT_TYPES and resource_type not in MAPPERS:
            self._skipped[(resource_type, skip_reason(resource_type), resource_type)].append(at)

    def _index_patient(self, at: int, resource: dict[str, Any]) -> None:
        identity, warnings = patient_identity(resource)
        if identity.is_empty:
            self._issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                "the Patient has neither an NHS number nor another identifier, so it cannot be matched",
                element="Patient.identifier",
                entry=at,
            )
            return
        self._index.add_patient(at, identity)
        self._patient_warnings[at] = warnings
        for warning in warnings:
            self._issue(Severity.WARNING, IssueCode.VALUE, warning, element="Patient.identifier", entry=at)

    def _note_clinical(self, at: int, full_url: str | None, resource: dict[str, Any]) -> None:
        resource_type = resource["resourceType"]
        key = business_key(resource, full_url)
        if key is None:
            self._issue(
                Severity.ERROR,
                IssueCode.REQUIRED,
                "has no identifier, id or fullUrl to key it by, so a later update could not find it",
                element=f"{resource_type}.identifier",
                entry=at,
            )
            return
        if hash(key) in self._key_hashes:
            fallback = business_key(resource, full_url, by_identifier=False)
            if fallback is None or hash(fallback) in self._key_hashes:
                self._issue(
                    Severity.ERROR,
                    IssueCode.PROCESSING,
                    f"shares its key {key!r} with another entry and has no id of its own",
                    element=f"{resource_type}.identifier",
                    entry=at,
                )
                return
            self._issue(
                Severity.WARNING,
                IssueCode.VALUE,
                f"another entry has the same identifier ({key}); keyed by its id instead",
                element=f"{resource_type}.identifier",
                entry=at,
            )
            key = self._key_fallback[at] = fallback
        self._key_hashes.add(hash(key))
        element = PATIENT_ELEMENT[resource_type]
        if element == "participant":
            refs = [
                p["actor"] for p in dicts(resource.get("participant")) if isinstance(p.get("actor"), dict)
            ]
        else:
            refs = dicts(resource.get(element))
        # A contained patient is resolved now, while its resource is at hand.
        for position, reference in enumerate(refs):
            if str(reference.get("reference", "")).startswith("#"):
                found = self._index.patient(reference, full_url, resource.get("contained"))
                if isinstance(found, PatientRef):
                    refs[position] = {"identifier": _identifier_of(found)}
        self._pending[at] = _Pending(sys.intern(resource_type), full_url, [_compact(ref) for ref in refs])
        if resource_type == "DiagnosticReport":
            self._reports.append((key, full_url, dicts(resource.get("result"))))

    def _resolve(self) -> None:
        for at, pending in self._pending.items():
            element = PATIENT_ELEMENT[pending.resource_type]
            reasons = []
            for reference in pending.references():
                found = self._index.patient(reference, pending.full_url)
                if isinstance(found, PatientRef):
                    self._attributed[at] = found
                    break
                reasons.append(found)
            else:
                path = f"{pending.resource_type}.{element}" + (".actor" if element == "participant" else "")
                why = "; ".join(reasons) if reasons else f"there is no {element}"
                code = IssueCode.REQUIRED if not reasons else IssueCode.NOT_FOUND
                self._issue(Severity.ERROR, code, f"the patient cannot be determined: {why}", path, entry=at)
        for report_key, full_url, results in self._reports:
            for reference in results:
                target = reference.get("reference")
                found = self._index.find(target, full_url) if isinstance(target, str) else None
                if found is not None and self._index.entries[found].resource_type == "Observation":
                    self._parents.setdefault(found, report_key)
        for (resource_type, reason, element), entries in sorted(self._skipped.items()):
            listed = ", ".join(str(at) for at in entries[:_LISTED_ENTRIES])
            more = "…" if len(entries) > _LISTED_ENTRIES else ""
            where = f" (entries {listed}{more})" if self._kind == "bundle" else ""
            self._issue(
                Severity.WARNING,
                IssueCode.NOT_SUPPORTED,
                f"{resource_type} is not stored: {reason}; {len(entries)} skipped{where}",
                element=element,
                entry=entries[0] if len(entries) == 1 or self._kind == "ndjson" else None,
            )
        if not self._pending and not self._index.patients and not any(i.is_error for i in self.issues):
            kinds = sorted({self._index.entries[at].resource_type for at in self._index.directory})
            for kind in kinds:
                self._issue(
                    Severity.WARNING,
                    IssueCode.NOT_SUPPORTED,
                    f"{kind} is not stored on its own; it is read to resolve other entries' references",
                    kind,
                )
            if not kinds and not self._skipped:
                self._issue(
                    Severity.WARNING, IssueCode.INFORMATIONAL, "the body holds nothing the record stores"
                )
        # Pass 2 needs only who each entry belongs to.
        self._pending.clear()

    # ---- pass 2 ------------------------------------------------------------------------------------

    def _source_time(self) -> datetime:
        meta = self._header.get("meta") if isinstance(self._header.get("meta"), dict) else {}
        return (
            parse_datetime(self._header.get("timestamp"))
            or parse_datetime(meta.get("lastUpdated"))
            or self.received_at
        )

    def _draft(self, patient: PatientRef) -> PatientDraft:
        """The patient's demographics from its Patient entry, or only its identity if there is none."""
        if patient.key in self._drafts:
            return self._drafts[patient.key]
        resource = self._index.directory.get(patient.entry) if patient.entry is not None else None
        if resource is None or patient.entry in self._invalid:
            draft = identity_only_draft(patient.identity, self._source_time())
        else:
            meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
            updated = parse_datetime(meta.get("lastUpdated")) or self._source_time()
            values, ods, address, warnings = patient_demographics(
                resource, identity=patient.identity, index=self._index, base_url=None, as_of=updated
            )
            stored = normalised_patient_resource(resource, patient.identity.nhs_number_status)
            rewrite_references(stored, self._index, None)
            draft = PatientDraft(
                identity=patient.identity,
                source_updated_at=updated,
                demographics=values,
                registered_practice_ods=ods,
                address=address,
                resource=stored,
            )
            for warning in warnings:
                self._issue(Severity.WARNING, IssueCode.VALUE, warning, "Patient", entry=patient.entry)
        self._drafts[patient.key] = draft
        return draft

    def _map(self, batch_size: int) -> Iterator[MappedRecord]:
        batches = _Batches()
        announced: set[str] = set()
        for entry in self._entries():
            at = entry.index
            patient = self._attributed.get(at)
            if patient is None:
                continue
            resource = entry.resource
            resource_type = resource["resourceType"]
            ctx = MapContext(
                index=self._index,
                entry=at,
                full_url=entry.full_url,
                patient=patient,
                business_key=self._key_fallback.get(at) or business_key(resource, entry.full_url) or "",
                source_updated_at=self._source_time(),
                parent_key=self._parents.get(at),
            )
            try:
                result = MAPPERS[resource_type](resource, ctx)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._late_error(f"could not be mapped ({type(exc).__name__}: {exc})", resource_type, at)
                continue
            if isinstance(result, Skip):
                self._issue(
                    Severity.WARNING, IssueCode.NOT_SUPPORTED, result.reason, result.element, entry=at
                )
                continue
            # The incoming resource was validated; mapping only swaps references for identifier references
            # (valid Reference elements) unless it embedded a Medication, which is then checked again.
            embedded = result.resource.get("contained") != resource.get("contained")
            broken = validation_issues(result.resource) if embedded else []
            if broken:
                self._late_error(
                    f"was mapped to invalid FHIR: {broken[0][1]}: {broken[0][2]}", resource_type, at
                )
                continue
            batches.add(patient.key, result)
            self.entry_keys[at] = result.business_key
            if batches.size >= batch_size:
                yield from self._flush(batches, announced)
        for waiting in list(batches.waiting.values()):
            for patient_key, item in waiting:
                batches.items[patient_key].append(item)
        batches.waiting.clear()
        yield from self._flush(batches, announced)
        for patient in self._index.patients.values():
            if patient.key not in announced and patient.entry not in self._invalid:
                announced.add(patient.key)
                yield MappedRecord(
                    patient=self._draft(patient), warnings=self._patient_warnings.get(patient.entry, [])
                )

    def _late_error(self, text: str, resource_type: str, at: int) -> None:
        self._issue(Severity.ERROR, IssueCode.PROCESSING, text, resource_type, entry=at)
        if self.atomic:
            self._failed_late = True

    def _flush(self, batches: _Batches, announced: set[str]) -> Iterator[MappedRecord]:
        patients = {p.key: p for p in self._attributed.values()}
        for patient_key, items in batches.items.items():
            if not items:
                continue
            patient = patients[patient_key]
            warnings = [] if patient_key in announced else self._patient_warnings.get(patient.entry, [])
            announced.add(patient_key)
            yield MappedRecord(patient=self._draft(patient), items=items, warnings=list(warnings))
        batches.items = defaultdict(list)
        batches.size = 0


def _identifier_of(patient: PatientRef) -> dict[str, str]:
    return identity_reference(patient.identity)["identifier"]


@dataclass
class FhirResult:
    """Everything a body became: one MappedRecord per patient, and the issues."""

    records: list[MappedRecord]
    issues: list[Issue]
    bundle_type: str | None
    rejected: bool

    @property
    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def parse_fhir(body: bytes | str, *, content_type: str | None, received_at: datetime) -> FhirResult:
    """Map a whole body at once, one MappedRecord per patient. Holds every mapped resource in memory:
    for large bodies iterate FhirReader.records() instead."""
    reader = FhirReader(body, content_type=content_type, received_at=received_at)
    merged: dict[str, MappedRecord] = {}
    for record in reader.records():
        assert record.patient is not None
        key = _patient_key(record.patient)
        if key in merged:
            merged[key].items.extend(record.items)
            merged[key].warnings.extend(record.warnings)
        else:
            merged[key] = record
    rejected = reader.rejected
    return FhirResult([] if rejected else list(merged.values()), reader.issues, reader.bundle_type, rejected)


def _patient_key(draft: PatientDraft) -> str:
    return identity_key(draft.identity)
