"""Laboratory reports with their results, and imaging reports, from the local hospital's systems.

Values follow the person: diabetics' HbA1c drifts around a personal level, eGFR falls slowly in chronic kidney
disease (and is computed from creatinine with the MDRD formula, as labs do), infections raise CRP and the
white cells. Flags come from the reference range, so some results fall outside it, as in life.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

from records.demo import codes
from records.demo.codes import LAB_TESTS, PANELS, SNOMED, LabTest
from records.demo.history.context import Ctx
from records.models import EntryCategory

_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_LABORATORY = [{"coding": [codes.coding(_OBSERVATION_CATEGORY, "laboratory", "Laboratory")]}]
_FLAGS = {
    "H": [{"coding": [codes.coding(codes.INTERPRETATION, "H", "High")]}],
    "L": [{"coding": [codes.coding(codes.INTERPRETATION, "L", "Low")]}],
    "N": [{"coding": [codes.coding(codes.INTERPRETATION, "N", "Normal")]}],
}
_FLAG_WORDS = {"H": " (high)", "L": " (low)", "N": ""}


@cache
def _test_code(test: LabTest) -> dict:
    coding = [codes.coding(SNOMED, test.code, test.display)]
    if test.loinc:
        coding.append({"system": codes.LOINC, "code": test.loinc})
    return {"coding": coding, "text": test.display}


def _quantity(test: LabTest, value: float) -> dict:
    return {"value": value, "unit": test.unit_display, "system": codes.UCUM, "code": test.unit}


@cache
def _reference_range(test: LabTest, female: bool) -> list[dict]:
    low, high = test.limits(female)
    entry: dict = {}
    if low is not None:
        entry["low"] = _quantity(test, low)
    if high is not None:
        entry["high"] = _quantity(test, high)
    if test.range_text:
        entry["text"] = test.range_text
    return [entry]


@cache
def _panel_code(lab_ods: str, panel: str) -> tuple[dict, list[dict], str]:
    local_code, name, section, _ = PANELS[panel]
    system = f"https://fhir.{lab_ods.lower()}.example.nhs.uk/CodeSystem/lab-order-code"
    category = [codes.concept(codes.DIAGNOSTIC_SERVICE, section, codes.DIAGNOSTIC_SERVICE_NAMES[section])]
    return {"coding": [codes.coding(system, local_code, name)], "text": name}, category, system


@dataclass
class LabProfile:
    """The person's own levels, so that repeated tests make a believable trend."""

    hba1c: float
    hba1c_slope: float  # per year
    egfr: float
    egfr_slope: float
    haemoglobin_shift: float
    cholesterol: float
    alt: float
    anchor: date
    acute: bool = field(default=False)


def lab_profile(ctx: Ctx) -> LabProfile:
    if ctx.lab is not None:
        return ctx.lab
    rng, conditions = ctx.rng, ctx.conditions
    if conditions.keys() & {"t2dm", "t1dm"}:
        hba1c, slope = rng.uniform(52, 80), rng.gauss(-2.0, 4.0)
    elif "obesity" in conditions and rng.random() < 0.35:
        hba1c, slope = rng.uniform(42, 47), rng.gauss(0.5, 1.0)
    else:
        hba1c, slope = rng.uniform(31, 40), 0.0
    if "ckd" in conditions:
        egfr, egfr_slope = rng.uniform(36, 58), rng.gauss(-1.8, 1.0)
    else:
        egfr, egfr_slope = min(110.0, max(62.0, 118 - 0.55 * ctx.age + rng.gauss(0, 8))), -0.5
    anaemic = ("ckd" in conditions or (ctx.female and ctx.age >= 75)) and rng.random() < 0.3
    treated = bool(conditions.keys() & {"mi", "chd", "stroke", "t2dm"})
    profile = LabProfile(
        hba1c=hba1c,
        hba1c_slope=slope,
        egfr=egfr,
        egfr_slope=egfr_slope,
        haemoglobin_shift=-rng.uniform(15, 30) if anaemic else 0.0,
        cholesterol=rng.gauss(4.3 if treated else 5.3, 0.8),
        alt=rng.gauss(45 if "obesity" in conditions else 24, 9),
        anchor=ctx.start,
    )
    ctx.lab = profile
    return profile


def _creatinine_for(egfr: float, age: int, female: bool) -> float:
    """Invert the 4-variable MDRD equation (IDMS-traceable creatinine, umol/L)."""
    factor = 175 * max(age, 18) ** -0.203 * (0.742 if female else 1.0)
    return 88.4 * (egfr / factor) ** (1 / -1.154)


def _egfr_for(creatinine: float, age: int, female: bool) -> float:
    return 175 * (creatinine / 88.4) ** -1.154 * max(age, 18) ** -0.203 * (0.742 if female else 1.0)


def _values(ctx: Ctx, tests: tuple[str, ...], day: date, acute: bool) -> dict[str, float]:
    rng, profile, female = ctx.rng, lab_profile(ctx), ctx.female
    years = (day - profile.anchor).days / 365.25
    values: dict[str, float] = {}
    for key in tests:
        if key == "hb":
            values[key] = rng.gauss(135 if female else 148, 9) + profile.haemoglobin_shift
        elif key == "wcc":
            values[key] = rng.uniform(11.5, 19) if acute else max(2.5, rng.gauss(6.8, 1.6))
        elif key == "neut":
            wcc = values.get("wcc", 7.0)
            values[key] = wcc * rng.uniform(0.75, 0.88) if acute else wcc * rng.uniform(0.5, 0.68)
        elif key == "lymph":
            values[key] = rng.uniform(0.6, 1.2) if acute else max(0.5, rng.gauss(2.1, 0.6))
        elif key == "plt":
            values[key] = max(60, rng.gauss(265, 65))
        elif key == "mcv":
            values[key] = rng.gauss(90 if not profile.haemoglobin_shift else 82, 4)
        elif key == "sodium":
            values[key] = rng.gauss(137 if acute else 139.5, 2.6)
        elif key == "potassium":
            values[key] = rng.gauss(4.6 if "ckd" in ctx.conditions else 4.3, 0.4)
        elif key == "creatinine":
            egfr = profile.egfr + profile.egfr_slope * years + rng.gauss(0, 2.5) - (8 if acute else 0)
            values[key] = _creatinine_for(max(egfr, 8), ctx.person.age_on(day), female)
        elif key == "egfr":
            creatinine = values.get("creatinine") or _creatinine_for(profile.egfr, ctx.age, female)
            values[key] = _egfr_for(round(creatinine), ctx.person.age_on(day), female)
        elif key == "hba1c":
            values[key] = max(28, profile.hba1c + profile.hba1c_slope * years + rng.gauss(0, 3))
        elif key == "cholesterol":
            values[key] = max(2.2, profile.cholesterol + rng.gauss(0, 0.35))
        elif key == "hdl":
            values[key] = max(0.5, rng.gauss(1.55 if female else 1.25, 0.3))
        elif key == "triglycerides":
            values[key] = math.exp(rng.gauss(0.35, 0.45))
        elif key == "alt":
            values[key] = max(6, profile.alt + rng.gauss(0, 6))
        elif key == "alp":
            values[key] = max(25, rng.gauss(82, 24))
        elif key == "bilirubin":
            values[key] = max(2, rng.gauss(10, 5))
        elif key == "albumin":
            values[key] = rng.gauss(33 if acute else 41, 3.5)
        elif key == "crp":
            values[key] = rng.uniform(35, 260) if acute else math.exp(rng.gauss(0.6, 0.8))
    return values


def _flag(test: LabTest, value: float, female: bool) -> str:
    low, high = test.limits(female)
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return "N"


def lab_report_add(
    ctx: Ctx,
    panel: str,
    collected: datetime,
    *,
    requester: dict,
    acute: bool = False,
) -> list[str]:
    """One report and its results from the person's hospital laboratory; returns the abnormal results."""
    lab_source = ctx.sources.lab
    lab = ctx.hospital
    local_code, name, _, tests = PANELS[panel]
    code, category, code_system = _panel_code(lab.ods_code, panel)
    report_key = ctx.key("L")
    issued = collected + timedelta(minutes=ctx.rng.randint(90, 60 * 20))
    updated = min(issued + timedelta(minutes=5), ctx.cutoff)
    performer = [ctx.org(lab)]
    female = ctx.female
    values = _values(ctx, tests, collected.date(), acute)
    abnormal: list[str] = []
    for number, key in enumerate(tests, start=1):
        test = LAB_TESTS[key]
        value = values[key]
        value = round(value, test.decimals) if test.decimals else round(value)
        quantity = _quantity(test, value)
        if key == "egfr" and value > 90:
            # Laboratories report high eGFR as ">90", not as a number.
            quantity["value"], quantity["comparator"], flag = 90, ">", "N"
            shown = ">90"
        else:
            flag = _flag(test, value, female)
            shown = str(value)
        if flag != "N":
            abnormal.append(f"{test.display} {shown} {test.unit_display}{_FLAG_WORDS[flag]}")
        resource = {
            "resourceType": "Observation",
            "identifier": [{"system": code_system, "value": f"{report_key}-{number}"}],
            "status": "final",
            "category": _LABORATORY,
            "code": _test_code(test),
            "subject": ctx.subject,
            "effectiveDateTime": collected.isoformat(),
            "issued": issued.isoformat(),
            "performer": performer,
            "valueQuantity": quantity,
            "interpretation": _FLAGS[flag],
            "referenceRange": _reference_range(test, female),
        }
        ctx.add(
            lab_source,
            EntryCategory.LAB_RESULT,
            resource,
            key=f"{report_key}-{number}",
            summary=f"{test.display}: {shown} {test.unit_display}{_FLAG_WORDS[flag]}",
            occurred_at=collected,
            updated_at=updated,
            subtype=key,
            code=(SNOMED, test.code, test.display),
            status="final",
            parent_key=report_key,
        )
    conclusion = (
        f"Outside the reference range: {'; '.join(abnormal)}."
        if abnormal
        else "All results within the reference range."
    )
    report = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": code_system, "value": report_key}],
        "basedOn": [{"display": f"Requested by {requester.get('display', 'clinician')}"}],
        "status": "final",
        "category": category,
        "code": code,
        "subject": ctx.subject,
        "effectiveDateTime": collected.isoformat(),
        "issued": issued.isoformat(),
        "performer": performer,
        "resultsInterpreter": [requester],
        "conclusion": conclusion,
    }
    summary = (
        f"{name}: {len(abnormal)} outside range ({'; '.join(abnormal)})" if abnormal else f"{name}: normal"
    )
    ctx.add(
        lab_source,
        EntryCategory.LAB_REPORT,
        report,
        key=report_key,
        summary=summary,
        occurred_at=collected,
        updated_at=updated,
        subtype=panel,
        code=(code_system, local_code, name),
        status="final",
    )
    return abnormal


def routine_bloods_add(ctx: Ctx) -> None:
    """What the GP requests: chronic disease reviews, diabetes and kidney monitoring, and one-off checks."""
    conditions = ctx.conditions
    gp = ctx.clinician(ctx.person.gp)
    first, last = ctx.start, ctx.last_day
    if last <= first:
        return
    diabetic = bool(conditions.keys() & {"t2dm", "t1dm"})
    cardiovascular = bool(
        conditions.keys() & {"hypertension", "mi", "chd", "stroke", "hyperlipidaemia", "t2dm"}
    )
    chronic = (bool(conditions) and ctx.age >= 40) or ctx.age >= 65
    if diabetic:
        # HbA1c every three to six months, so the trend chart has something to show.
        day = ctx.day_between(first, first + timedelta(days=120))
        while day <= last:
            lab_report_add(ctx, "hba1c", ctx.clinic_time(day, 8, 12), requester=gp)
            day += timedelta(days=ctx.rng.randint(90, 180))
    if "ckd" in conditions:
        day = ctx.day_between(first, first + timedelta(days=150))
        while day <= last:
            lab_report_add(ctx, "ue", ctx.clinic_time(day, 8, 12), requester=gp)
            day += timedelta(days=ctx.rng.randint(150, 240))
    if chronic:
        # The annual review's bloods.
        day = ctx.day_between(first, first + timedelta(days=365))
        while day <= last:
            when = ctx.clinic_time(day, 8, 12)
            if "ckd" not in conditions:
                lab_report_add(ctx, "ue", when, requester=gp)
            if ctx.chance(0.5):
                lab_report_add(ctx, "fbc", when, requester=gp)
            if cardiovascular and ctx.chance(0.6):
                lab_report_add(ctx, "lipids", when, requester=gp)
            if ctx.chance(0.2):
                lab_report_add(ctx, "lft", when, requester=gp)
            day += timedelta(days=ctx.rng.randint(330, 400))
    elif ctx.age >= 16 and ctx.chance(0.25):
        when = ctx.clinic_time(ctx.past_day(), 8, 12)
        lab_report_add(ctx, "fbc", when, requester=gp)
        lab_report_add(ctx, "ue", when, requester=gp)
        if ctx.chance(0.3):
            lab_report_add(ctx, "lft", when, requester=gp)
        if ctx.age >= 40 and ctx.chance(0.4):
            lab_report_add(ctx, "lipids", when, requester=gp)


IMAGING_REPORTS = {
    "normal-chest": (
        codes.CHEST_XRAY,
        "Heart size normal. Lungs clear. No pleural effusion or pneumothorax. No acute bony abnormality.",
        "No acute abnormality",
    ),
    "pneumonia": (
        codes.CHEST_XRAY,
        "Consolidation in the right lower zone with air bronchograms, in keeping with infection. Heart size "
        "normal. Suggest a repeat film in six weeks to confirm resolution.",
        "Right lower zone consolidation",
    ),
    "copd": (
        codes.CHEST_XRAY,
        "Hyperexpanded lungs with flattened hemidiaphragms, in keeping with COPD. No focal consolidation.",
        "Hyperexpansion, no consolidation",
    ),
    "heart-failure": (
        codes.CHEST_XRAY,
        "Cardiomegaly with upper lobe blood diversion, septal lines and small bilateral pleural effusions, "
        "consistent with cardiac failure.",
        "Cardiomegaly and pulmonary oedema",
    ),
    "ct-chest": (
        codes.CT_CHEST,
        "Centrilobular emphysema, upper lobe predominant. No suspicious pulmonary nodule or mass. No "
        "mediastinal or hilar lymphadenopathy.",
        "Emphysema; no suspicious nodule",
    ),
    "wrist-fracture": (
        codes.WRIST_XRAY,
        "Extra-articular fracture of the distal radius with dorsal angulation (Colles' type). Ulnar styloid "
        "intact.",
        "Distal radius fracture",
    ),
    "wrist-normal": (
        codes.WRIST_HAND_XRAY,
        "No fracture or dislocation. Soft tissue swelling over the dorsum of the wrist.",
        "No fracture",
    ),
}


def imaging_report_add(ctx: Ctx, finding: str, performed: datetime, *, requester: dict) -> str:
    """A radiology report; returns its one-line conclusion."""
    (code, display), text, conclusion = IMAGING_REPORTS[finding]
    key = ctx.key("R")
    issued = performed + timedelta(minutes=ctx.rng.randint(30, 60 * 30))
    resource = {
        "resourceType": "DiagnosticReport",
        "identifier": ctx.identifier(ctx.sources.ris, key),
        "status": "final",
        "category": [codes.concept(codes.DIAGNOSTIC_SERVICE, "RAD", "Radiology")],
        "code": codes.concept(SNOMED, code, display),
        "subject": ctx.subject,
        "effectiveDateTime": performed.isoformat(),
        "issued": issued.isoformat(),
        "performer": [ctx.org(ctx.hospital)],
        "resultsInterpreter": [ctx.clinician(ctx.consultant())],
        "basedOn": [{"display": f"Requested by {requester.get('display', 'clinician')}"}],
        "conclusion": f"{text}\nConclusion: {conclusion}.",
    }
    ctx.add(
        ctx.sources.ris,
        EntryCategory.IMAGING_REPORT,
        resource,
        key=key,
        summary=f"{display}: {conclusion}",
        occurred_at=performed,
        updated_at=min(issued, ctx.cutoff),
        subtype=finding,
        code=(SNOMED, code, display),
        status="final",
    )
    return conclusion
