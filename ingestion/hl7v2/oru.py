"""ORU^R01: one DiagnosticReport per OBR, its OBX results as Observations, text reports kept whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingestion.canonical import ItemDraft, MappedRecord
from ingestion.fhir.items.clinical import IMAGING_SECTIONS, LAB_SECTIONS
from ingestion.hl7v2.context import Context, security_labels
from ingestion.hl7v2.datatypes import (
    code_value,
    concept,
    concept_text,
    entity_id,
    identifier,
    slug_key,
)
from ingestion.hl7v2.reader import Hl7ParseError, Moment, Segment, parse_moment
from ingestion.hl7v2.results import (
    OBSERVATION_STATUS,
    REPORT_STATUS,
    TEXT_TYPES,
    attachment,
    interpretation,
    reference_range,
    text_attachment,
    unit_of,
    value_of,
)
from records.models import EntryCategory

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Words in OBR-4 that make a report without OBR-24 an imaging report.
IMAGING_WORDS = (
    "x-ray", "xray", "radiograph", " ct ", "ct ", "computed tomography", "mri", "magnetic resonance",
    "ultrasound", "sonograph", "echo", "mammogra", "fluoroscop", "angiogra", "pet ", "nuclear", "dexa",
    "imaging", "radiology", "scan",
)  # fmt: skip


# An OBX without a status takes its report's (OBR-25).
_FROM_REPORT = {"F": "final", "C": "corrected", "P": "preliminary", "X": "cancelled"}


@dataclass
class Group:
    obr: Segment
    orc: Segment | None
    notes: list[str] = field(default_factory=list)
    results: list[tuple[Segment, list[str]]] = field(default_factory=list)
    observed: Moment | None = None


def groups_of(ctx: Context) -> list[Group]:
    groups: list[Group] = []
    orc: Segment | None = None
    last_notes: list[str] | None = None
    for segment in ctx.message.segments:
        name = segment.name
        if name == "ORC":
            orc = segment
        elif name == "OBR":
            groups.append(Group(segment, orc))
            last_notes = groups[-1].notes
        elif name == "OBX":
            notes: list[str] = []
            last_notes = notes
            if not groups:
                ctx.warnings.append(f"OBX {segment.get(1) or '?'} comes before any OBR: ignored")
                continue
            groups[-1].results.append((segment, notes))
            last_notes = notes
        elif name == "NTE" and last_notes is not None:
            comment = "\n".join(segment.text(3, rep) for rep in range(len(segment.repetitions(3)))).strip()
            if comment:
                last_notes.append(comment)
        elif name in ("PID", "PV1", "SPM"):
            last_notes = None
    return groups


def _order_id(ctx: Context, group: Group) -> tuple[str, str, str]:
    """(kind FILL/PLAC, system, value): the filler order number, else the placer's."""
    for segment, index, kind in (
        (group.obr, 3, "FILL"),
        (group.orc, 3, "FILL"),
        (group.obr, 2, "PLAC"),
        (group.orc, 2, "PLAC"),
    ):
        if segment is None:
            continue
        system, value = entity_id(segment, index)
        if value:
            return kind, system or ctx.source, value
    raise Hl7ParseError("the OBR has neither a filler (OBR-3) nor a placer (OBR-2) order number", "OBR-3")


def _is_text_result(obx: Segment) -> bool:
    return obx.get(2).upper() in TEXT_TYPES and not obx.get(3, 1)


def report_category(group: Group, textual: bool) -> tuple[str, str]:
    """(record category, diagnostic service section) from OBR-24, the test's name, or the content."""
    section = code_value(group.obr.get(24).upper())
    if section in IMAGING_SECTIONS:
        return EntryCategory.IMAGING_REPORT, section
    if section in LAB_SECTIONS:
        return EntryCategory.LAB_REPORT, section
    name = f" {group.obr.get(4, 2)} {group.obr.get(4, 5)} ".lower()
    if any(word in name for word in IMAGING_WORDS) or textual:
        return EntryCategory.IMAGING_REPORT, section or "RAD"
    return EntryCategory.LAB_REPORT, section or "LAB"


def map_oru(ctx: Context) -> MappedRecord:
    record = MappedRecord(patient=ctx.patient, warnings=ctx.warnings)
    groups = groups_of(ctx)
    if not groups:
        raise Hl7ParseError("ORU^R01 has no OBR segment: there is no report to record", "OBR")
    keys: set[str] = set()
    for group in groups:
        record.items.extend(_report(ctx, group, keys))
    return record


def _unique(key: str, keys: set[str], suffix: str) -> str:
    if key in keys:
        key = slug_key(key, suffix)
        n = 2
        while key in keys:
            key = slug_key(key, str(n))
            n += 1
    keys.add(key)
    return key


def _report(ctx: Context, group: Group, keys: set[str]) -> list[ItemDraft]:
    obr = group.obr
    kind, system, order = _order_id(ctx, group)
    report_key = _unique(slug_key("DiagnosticReport", system, order), keys, f"OBR{obr.get(1)}")
    text_lines: list[str] = []
    attachments: list[dict[str, Any]] = []
    measured: list[tuple[Segment, list[str]]] = []
    for obx, notes in group.results:
        kind_of_value = obx.get(2).upper()
        if kind_of_value in ("ED", "RP"):
            found = attachment(obx, ctx.warnings)
            if found:
                attachments.append(found)
        elif _is_text_result(obx):
            text_lines.extend(obx.text(5, rep) for rep in range(len(obx.repetitions(5))) or [0])
            text_lines.extend(notes)
        else:
            measured.append((obx, notes))
    textual = bool(text_lines) and not measured
    category, section = report_category(group, textual)
    code = concept(obr, 4) or {"text": "Report"}
    status_code = obr.get(25).upper()
    labels = security_labels(*(group.orc.get(28, 1, repetition=r) for r in range(3)) if group.orc else ())
    observed = group.observed = parse_moment(obr.get(7)) or parse_moment(obr.get(14))
    issued = parse_moment(obr.get(22))
    identifiers = [
        {
            "type": {"coding": [{"system": V2_0203, "code": kind}]},
            **identifier(system, order),
        }
    ]
    placer_system, placer = entity_id(obr, 2)
    if kind == "FILL" and placer:
        identifiers.append(
            {
                "type": {"coding": [{"system": V2_0203, "code": "PLAC"}]},
                **identifier(placer_system or ctx.source, placer),
            }
        )
    items: list[ItemDraft] = []
    result_refs: list[dict[str, Any]] = []
    observation_category = "imaging" if category == EntryCategory.IMAGING_REPORT else "laboratory"
    for obx, notes in measured:
        item = _observation(
            ctx,
            obx,
            notes,
            group,
            observation_category,
            status_code,
            (system, order, report_key),
            keys,
            labels,
        )
        items.append(item)
        result_refs.append(
            {
                "type": "Observation",
                "identifier": item.resource["identifier"][0],
                "display": item.summary[:200],
            }
        )
    text = "\n".join(text_lines).strip()
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": identifiers,
        "status": REPORT_STATUS.get(status_code) or _derived_status(items),
        "category": [{"coding": [{"system": V2_0074, "code": section}]}],
        "code": code,
        "subject": ctx.patient_reference,
    }
    if labels:
        report["meta"] = {"security": labels}
    if observed:
        report["effectiveDateTime"] = observed.fhir
    if issued and issued.precision in ("minute", "second"):
        report["issued"] = issued.at.isoformat(timespec="seconds")
    # OBR-32 is an NDL: its first component is id&family&given&... in subcomponents.
    interpreter = " ".join(part for part in (obr.get(32, 1, 3), obr.get(32, 1, 2)) if part) or obr.get(
        32, 1, 1
    )
    if interpreter:
        report["resultsInterpreter"] = [{"type": "Practitioner", "display": interpreter}]
    if result_refs:
        report["result"] = result_refs
    comments = "\n".join(group.notes).strip()
    conclusion = "\n\n".join(part for part in (text, comments) if part)
    if conclusion:
        report["conclusion"] = conclusion
    presented = []
    if text:
        presented.append(text_attachment(text, concept_text(code)))
    presented.extend(attachments)
    if presented:
        report["presentedForm"] = presented
    what = concept_text(code)
    summary = what
    if text and category == EntryCategory.IMAGING_REPORT:
        summary = f"{what}: {' '.join(text.split())}"
    elif items:
        summary = f"{what}: {len(items)} result{'s' if len(items) != 1 else ''}"
    when = observed or issued
    report_item = ctx.item(
        category,
        report,
        report_key,
        summary=summary,
        codes=(code,),
        subtype=section.lower(),
        occurred_at=when.at if when else None,
        status=report["status"],
    )
    return [report_item, *items]


def _derived_status(items: list[ItemDraft]) -> str:
    statuses = {item.status for item in items}
    if not statuses:
        return "unknown"
    if statuses <= {"final", "corrected", "amended"}:
        return "corrected" if "corrected" in statuses else "final"
    return "preliminary"


def _observation(
    ctx: Context,
    obx: Segment,
    notes: list[str],
    group: Group,
    category: str,
    report_status: str,
    report: tuple[str, str, str],
    keys: set[str],
    labels: list[dict[str, str]],
) -> ItemDraft:
    code = concept(obx, 3)
    if code is None:
        code = {"text": f"Result {obx.get(1) or ''}".strip()}
        ctx.warnings.append(f"OBX-3 of OBX {obx.get(1) or '?'} is empty: the result has no code")
    unit = unit_of(obx)
    value, value_text = value_of(obx, ctx.warnings, unit)
    set_id = obx.get(1)
    code_part = obx.get(3, 1) or f"OBX{set_id}"
    sub_id = obx.get(4)
    report_system, report_value, report_key = report
    obs_value = "-".join(part for part in (report_value, code_part, sub_id) if part)
    plain = slug_key("Observation", report_system, obs_value)
    key = _unique(plain, keys, f"OBX{set_id}")
    if key != plain:
        obs_value = key.removeprefix(f"Observation|{report_system}|")
    status = OBSERVATION_STATUS.get(obx.get(11).upper()) or _FROM_REPORT.get(report_status, "unknown")
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [identifier(report_system, obs_value)],
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": code,
        "subject": ctx.patient_reference,
    }
    if labels:
        resource["meta"] = {"security": labels}
    observed = parse_moment(obx.get(14)) or group.observed
    if observed:
        resource["effectiveDateTime"] = observed.fhir
    resource.update(value)
    flags_concepts, flags = interpretation(obx)
    if flags_concepts:
        resource["interpretation"] = flags_concepts
    ranges = reference_range(obx, unit)
    if ranges:
        resource["referenceRange"] = ranges
    if notes:
        resource["note"] = [{"text": note} for note in notes]
    what = concept_text(code)
    summary = f"{what}: {value_text}" if value_text else what
    shown_flags = [flag for flag in flags if flag != "N"]
    if shown_flags:
        summary += f" ({', '.join(shown_flags)})"
    return ctx.item(
        EntryCategory.LAB_RESULT,
        resource,
        key,
        summary=summary,
        codes=(code,),
        subtype=category,
        occurred_at=observed.at if observed else None,
        status=status,
        parent_key=report_key,
        sensitive_concepts=(value.get("valueCodeableConcept"),),
    )
