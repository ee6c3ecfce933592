"""A council's social care CSV extract → one MappedRecord per row, or the row's errors.

Rows are read one at a time with the csv module, so a long extract is never held whole. Each good row
gives the person (identified by the council's id, and the NHS number when it passes its check) and
a CarePlan for the package, a RelatedPerson for the carer and a safeguarding Flag. Keys are built
from the council's ids, so the next extract updates what this one loaded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, TextIO

from ingestion.canonical import ItemDraft, LocalId, MappedRecord, MappingError, PatientDraft, PatientIdentity
from ingestion.csv.spec import (
    COLUMNS_BY_NAME,
    NO,
    PACKAGE_TYPE_SYSTEM,
    PACKAGE_TYPES,
    REQUIRED_COLUMNS,
    REVIEW_TYPES,
    YES,
    package_type_slug,
)
from ingestion.fhir.common import NHS_NUMBER_SYSTEM, UK_TIME, slug
from records import nhs_numbers
from records.models import EntryCategory, Sensitivity

_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"


@dataclass(frozen=True)
class CsvIssue:
    """One problem: `line` is the file's line number (the header is line 1); None for the whole file."""

    line: int | None
    column: str
    reason: str
    severity: str = "error"

    def as_text(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}, {self.column or 'row'}: {self.reason}"


@dataclass
class CsvRow:
    line: int
    record: MappedRecord | None
    issues: list[CsvIssue] = field(default_factory=list)


class CsvHeaderError(MappingError):
    """The header is wrong: nothing in the file is read."""

    def __init__(self, issues: list[CsvIssue]):
        self.issues = issues
        super().__init__("; ".join(issue.as_text() for issue in issues), location="header")


def _header(names: list[str]) -> tuple[list[str], list[CsvIssue]]:
    columns = [name.strip().lower().removeprefix("\ufeff") for name in names]
    issues = [
        CsvIssue(None, name, "the column is required but missing from the header")
        for name in REQUIRED_COLUMNS
        if name not in columns
    ]
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            issues.append(CsvIssue(None, name, "the column appears twice in the header"))
        seen.add(name)
    unknown = [name for name in columns if name and name not in COLUMNS_BY_NAME]
    issues += [CsvIssue(None, name, "unknown column; ignored", "warning") for name in unknown]
    return columns, issues


def parse_date(text: str) -> date | None:
    """YYYY-MM-DD or DD/MM/YYYY; raises ValueError for anything else."""
    text = text.strip()
    uk = _UK_DATE.fullmatch(text)
    try:
        if uk:
            return date(int(uk[3]), int(uk[2]), int(uk[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def parse_moment(text: str) -> datetime:
    """An ISO date-time (naive means UK time) or a date (its start, UK time)."""
    text = text.strip()
    try:
        return datetime.combine(parse_date(text), time.min, tzinfo=UK_TIME)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time (e.g. 2026-03-01T09:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UK_TIME)


class _Row:
    """One row's values, collecting each problem with its column."""

    def __init__(self, line: int, values: dict[str, str]):
        self.line = line
        self.values = values
        self.issues: list[CsvIssue] = []

    def text(self, column: str) -> str:
        value = self.values.get(column, "").strip()
        spec = COLUMNS_BY_NAME[column]
        if not value and spec.required and not spec.blank_ok:
            self.error(column, "must not be blank")
        return value

    def error(self, column: str, reason: str, severity: str = "error") -> None:
        self.issues.append(CsvIssue(self.line, column, reason, severity))

    def date(self, column: str) -> date | None:
        value = self.text(column)
        if not value:
            return None
        try:
            return parse_date(value)
        except ValueError as exc:
            self.error(column, str(exc))
            return None

    @property
    def failed(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)


def _subject(identity: PatientIdentity, display: str) -> dict[str, Any]:
    if identity.nhs_number:
        identifier = {"system": NHS_NUMBER_SYSTEM, "value": identity.nhs_number}
    else:
        local = identity.local_ids[0]
        identifier = {"system": local.system, "value": local.value}
    return {"type": "Patient", "identifier": identifier, "display": display}


def _care_plan(row: _Row, fields: dict[str, Any], subject: dict[str, Any]) -> dict[str, Any]:
    kind, start, end = fields["package"], fields["start"], fields["end"]
    display = PACKAGE_TYPES[kind][0]
    received: date = fields["received"]
    active = end is None or end >= received
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active" if active else "completed",
        "intent": "plan",
        "category": [
            {"coding": [{"system": PACKAGE_TYPE_SYSTEM, "code": kind, "display": display}], "text": display}
        ],
        "title": f"{display} package",
        "subject": subject,
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
    }
    if fields["package_id"]:
        plan["identifier"] = [{"system": fields["system"], "value": fields["package_id"]}]
    if row.values.get("support_plan_summary", "").strip():
        plan["description"] = row.values["support_plan_summary"].strip()
    if row.values.get("allocated_worker", "").strip():
        plan["author"] = {"display": row.values["allocated_worker"].strip()}
    if row.values.get("team", "").strip():
        plan["contributor"] = [{"display": row.values["team"].strip()}]
    service: dict[str, Any] = {
        "status": "in-progress" if active else "completed",
        "description": display,
        "scheduledPeriod": plan["period"],
    }
    provider = row.values.get("provider_name", "").strip()
    if provider:
        organisation: dict[str, Any] = {"resourceType": "Organization", "id": "provider", "name": provider}
        phone = row.values.get("provider_phone", "").strip()
        if phone:
            organisation["telecom"] = [{"system": "phone", "value": phone, "use": "work"}]
        plan["contained"] = [organisation]
        service["performer"] = [{"reference": "#provider", "display": provider}]
    plan["activity"] = [{"detail": service}]
    if fields["review"]:
        review_type = fields["review_type"]
        plan["activity"].append(
            {
                "detail": {
                    "status": "scheduled",
                    "description": REVIEW_TYPES.get(review_type, "Planned review"),
                    "scheduledString": fields["review"].isoformat(),
                }
            }
        )
    return plan


def _carer(row: _Row, subject: dict[str, Any]) -> dict[str, Any]:
    relationship = row.values.get("carer_relationship", "").strip()
    carer: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": subject,
        "relationship": [{"text": f"Carer ({relationship})" if relationship else "Carer"}],
        "name": [{"text": row.values["carer_name"].strip()}],
    }
    phone = row.values.get("carer_phone", "").strip()
    if phone:
        carer["telecom"] = [{"system": "phone", "value": phone}]
    return carer


def _check(row: _Row, identifier_system: str, received_at: datetime) -> dict[str, Any]:
    """Read and check every column; the parsed values, with the row's problems noted on it."""
    fields: dict[str, Any] = {"system": identifier_system, "received": received_at.date()}
    fields["la_id"] = row.text("la_person_id")
    fields["family"] = row.text("family_name")
    fields["born"] = row.date("date_of_birth")
    number = nhs_numbers.normalise(row.text("nhs_number"))
    fields["nhs"] = None
    if number and nhs_numbers.is_valid(number):
        fields["nhs"] = number
    elif number:
        row.error(
            "nhs_number", f"{number!r} is not a valid NHS number (length or check digit); not used", "warning"
        )
    gender = row.text("gender").lower()
    if gender and gender not in ("male", "female", "other", "unknown"):
        row.error("gender", f"{gender!r} is not male, female, other or unknown; ignored", "warning")
        gender = ""
    fields["gender"] = gender
    package_text = row.text("package_type")
    fields["package"] = package_type_slug(package_text) if package_text else None
    if package_text and fields["package"] is None:
        row.error("package_type", f"unknown package type {package_text!r}")
    fields["package_id"] = row.text("package_id")
    fields["start"] = row.date("package_start")
    fields["end"] = row.date("package_end")
    if fields["start"] and fields["end"] and fields["end"] < fields["start"]:
        row.error("package_end", "is before package_start")
    fields["review"] = row.date("review_date")
    fields["review_type"] = row.text("review_type").lower()
    if fields["review_type"] and fields["review_type"] not in REVIEW_TYPES:
        row.error("review_type", f"{fields['review_type']!r} is not planned, annual or unplanned")
    for who in ("carer", "provider"):
        details = [c for c in (f"{who}_relationship", f"{who}_phone") if row.values.get(c, "").strip()]
        if details and not row.text(f"{who}_name"):
            row.error(f"{who}_name", f"is blank but {details[0]} is given")
    flag = row.text("safeguarding_flag").lower()
    if flag not in YES | NO:
        row.error("safeguarding_flag", f"{flag!r} is not Y or N")
    fields["safeguarding"] = flag in YES
    updated = row.text("last_updated")
    fields["updated"] = None
    if updated:
        try:
            fields["updated"] = parse_moment(updated)
        except ValueError as exc:
            row.error("last_updated", str(exc))
    return fields


def _record(row: _Row, fields: dict[str, Any]) -> MappedRecord:
    la_id, updated = fields["la_id"], fields["updated"]
    identity = PatientIdentity(nhs_number=fields["nhs"], local_ids=[LocalId(fields["system"], la_id)])
    given = row.values.get("given_names", "").strip()
    demographics: dict[str, Any] = {"family_name": fields["family"], "date_of_birth": fields["born"]}
    if given:
        demographics["given_names"] = given
    if fields["gender"]:
        demographics["gender"] = fields["gender"]
    patient_resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [
            *([{"system": NHS_NUMBER_SYSTEM, "value": fields["nhs"]}] if fields["nhs"] else []),
            {"system": fields["system"], "value": la_id},
        ],
        "name": [{"family": fields["family"], **({"given": given.split()} if given else {})}],
        "birthDate": fields["born"].isoformat(),
        **({"gender": fields["gender"]} if fields["gender"] else {}),
    }
    patient = PatientDraft(
        identity=identity,
        source_updated_at=updated,
        demographics=demographics,
        registered_practice_ods=row.values.get("gp_practice_code", "").strip().upper(),
        resource=patient_resource,
    )
    display = f"{given} {fields['family']}".strip()
    subject = _subject(identity, display)
    kind, start = fields["package"], fields["start"]
    plan = _care_plan(row, fields, subject)
    summary = plan.get("description") or f"{PACKAGE_TYPES[kind][0]} from {start:%d %b %Y}"
    items = [
        ItemDraft(
            category=EntryCategory.CARE_PLAN,
            resource=plan,
            business_key=f"careplan|{la_id}|{fields['package_id'] or f'{kind}|{start.isoformat()}'}",
            source_updated_at=updated,
            summary=f"{PACKAGE_TYPES[kind][0]}: {summary}"[:300],
            subtype=kind,
            occurred_at=datetime.combine(start, time.min, tzinfo=UK_TIME),
            ended_at=datetime.combine(fields["end"], time.max, tzinfo=UK_TIME) if fields["end"] else None,
            review_due_on=fields["review"],
            code_system=PACKAGE_TYPE_SYSTEM,
            code=kind,
            code_display=PACKAGE_TYPES[kind][0],
            status=plan["status"],
            allocated_team=row.values.get("team", "").strip(),
        )
    ]
    if row.values.get("carer_name", "").strip():
        carer = _carer(row, subject)
        items.append(
            ItemDraft(
                category=EntryCategory.RELATED_PERSON,
                resource=carer,
                business_key=f"relatedperson|{la_id}|carer|{slug(row.values['carer_name'])}",
                source_updated_at=updated,
                summary=f"{carer['name'][0]['text']} ({carer['relationship'][0]['text']})"[:300],
                subtype="carer",
                status="active",
            )
        )
    flag_key = f"flag|{la_id}|safeguarding"
    cancelled: list[str] = []
    if fields["safeguarding"]:
        flag = {
            "resourceType": "Flag",
            "status": "active",
            "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "safety", "display": "Safety"}]}],
            "code": {"text": "Safeguarding concern"},
            "subject": subject,
            "period": {"start": updated.isoformat()},
        }
        items.append(
            ItemDraft(
                category=EntryCategory.ALERT,
                resource=flag,
                business_key=flag_key,
                source_updated_at=updated,
                summary="Safeguarding concern",
                subtype="safeguarding",
                occurred_at=updated,
                status="active",
                sensitivity=Sensitivity.SAFEGUARDING,
            )
        )
    else:
        # No concern in this extract: withdraw a flag an earlier extract raised (a no-op if there is none).
        cancelled.append(flag_key)
    warnings = [issue.as_text() for issue in row.issues]
    return MappedRecord(patient=patient, items=items, cancelled_keys=cancelled, warnings=warnings)


def iter_social_care_rows(
    stream: TextIO | Iterable[str], *, identifier_system: str, received_at: datetime
) -> Iterator[CsvRow]:
    """Each data row as a MappedRecord or its errors. Raises CsvHeaderError first if the header is wrong.

    `identifier_system` names the council's person ids (the source system's local identifier system).
    Header warnings (unknown columns) come with the first row.
    """
    reader = csv.reader(stream)
    try:
        names = next(reader)
    except StopIteration:
        raise CsvHeaderError([CsvIssue(None, "", "the file is empty")]) from None
    except csv.Error as exc:
        raise CsvHeaderError([CsvIssue(1, "", f"the header cannot be read: {exc}")]) from None
    columns, header_issues = _header(names)
    if any(issue.severity == "error" for issue in header_issues):
        raise CsvHeaderError(header_issues)
    pending_warnings = header_issues
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRow(line + 1, None, [CsvIssue(line + 1, "", f"the row cannot be read: {exc}")])
            line = reader.line_num
            continue
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(start, dict(zip(columns, cells, strict=False)))
        row.issues.extend(pending_warnings)
        pending_warnings = []
        if len(cells) > len(columns):
            row.error("", f"the row has {len(cells)} fields but the header has {len(columns)}")
        fields = _check(row, identifier_system, received_at)
        record = None if row.failed else _record(row, fields)
        yield CsvRow(start, record, row.issues)


@dataclass
class CsvResult:
    records: list[MappedRecord]
    issues: list[CsvIssue]

    @property
    def errors(self) -> list[CsvIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]


def parse_social_care_csv(
    stream: TextIO | Iterable[str], *, identifier_system: str, received_at: datetime
) -> CsvResult:
    """The whole extract at once; a wrong header gives no records and the header's issues."""
    try:
        rows = list(
            iter_social_care_rows(stream, identifier_system=identifier_system, received_at=received_at)
        )
    except CsvHeaderError as exc:
        return CsvResult([], exc.issues)
    return CsvResult(
        [row.record for row in rows if row.record is not None],
        [issue for row in rows for issue in row.issues],
    )
