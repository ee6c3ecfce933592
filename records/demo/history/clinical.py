"""The GP record's summary: problems, allergies, medicines, alerts and the RCGP sensitive items."""

from __future__ import annotations

from datetime import date, timedelta

from records.demo import codes
from records.demo.codes import CONDITION_BY_KEY, CONDITIONS, MEDICINES, SNOMED, Medicine
from records.demo.history.context import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    FLAG_CATEGORY,
    RESTRICTED_LABEL,
    Ctx,
    at,
    fmt_date,
)
from records.models import EntryCategory, Sensitivity

_PROBLEM_LIST_ITEM = [
    {"coding": [codes.coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]}
]
_CONFIRMED = {"coding": [codes.coding(CONDITION_VERIFICATION, "confirmed", "Confirmed")]}
_CLINICAL_STATUS = {
    status: {"coding": [codes.coding(CONDITION_CLINICAL, status, status.title())]}
    for status in ("active", "resolved")
}
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_ALLERGY_ACTIVE = {"coding": [codes.coding(_ALLERGY_CLINICAL, "active", "Active")]}
_ALLERGY_CONFIRMED = {"coding": [codes.coding(_ALLERGY_VERIFICATION, "confirmed", "Confirmed")]}
_MED_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
_COURSE = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
_COMMUNITY = [{"coding": [codes.coding(_MED_CATEGORY, "community", "Community")]}]
_CONTINUOUS = {"coding": [codes.coding(_COURSE, "continuous", "Continuous long term therapy")]}
_ACUTE = {"coding": [codes.coding(_COURSE, "acute", "Short course (acute) therapy")]}
_DAYS_28 = {"value": 28, "unit": "days", "system": codes.UCUM, "code": "d"}
ACUTE_REASONS = (
    "Chest infection",
    "Cellulitis",
    "Tonsillitis",
    "Sinusitis",
    "Infected insect bite",
    "Otitis media",
)


def _years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def conditions_choose(ctx: Ctx) -> None:
    """Long-term conditions by age and sex, each with an onset date."""
    born, last = ctx.person.date_of_birth, ctx.last_day
    for condition in CONDITIONS:
        share = condition.prevalence(ctx.age, ctx.female)
        if not share or not ctx.chance(share):
            continue
        first_age = next(age for age, *_ in condition.bands if condition.prevalence(age, ctx.female))
        earliest = max(_years(born, max(first_age, 1)), _years(last, -25))
        ctx.conditions[condition.key] = ctx.day_between(earliest, last - timedelta(days=30))
    # One kind of diabetes and one dementia diagnosis each.
    if "t1dm" in ctx.conditions:
        ctx.conditions.pop("t2dm", None)
    if "alzheimers" in ctx.conditions:
        ctx.conditions.pop("dementia", None)


def condition_resource(
    ctx: Ctx,
    code: str,
    display: str,
    onset: date,
    *,
    resolved_on: date | None = None,
    asserter: dict | None = None,
) -> dict:
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": _CLINICAL_STATUS["resolved" if resolved_on else "active"],
        "verificationStatus": _CONFIRMED,
        "category": _PROBLEM_LIST_ITEM,
        "code": codes.concept(SNOMED, code, display),
        "subject": ctx.subject,
        "onsetDateTime": onset.isoformat(),
        "recordedDate": onset.isoformat(),
    }
    if resolved_on:
        resource["abatementDateTime"] = resolved_on.isoformat()
    if asserter:
        resource["asserter"] = asserter
    return resource


def problem_add(
    ctx: Ctx,
    code: str,
    display: str,
    onset: date,
    *,
    resolved_on: date | None = None,
    source: str | None = None,
    sensitivity: str = Sensitivity.NORMAL,
) -> None:
    resource = condition_resource(
        ctx, code, display, onset, resolved_on=resolved_on, asserter=ctx.clinician(ctx.person.gp)
    )
    if sensitivity != Sensitivity.NORMAL:
        resource["meta"] = RESTRICTED_LABEL
    status = "resolved" if resolved_on else "active"
    summary = (
        f"{display} ({fmt_date(onset)}, resolved)" if resolved_on else f"{display} (since {fmt_date(onset)})"
    )
    ctx.add(
        source or ctx.sources.gp,
        EntryCategory.PROBLEM,
        resource,
        key=ctx.key("PRB"),
        summary=summary,
        occurred_at=at(onset, 12),
        ended_at=at(resolved_on, 12) if resolved_on else None,
        subtype="acute" if resolved_on else "long-term",
        code=(SNOMED, code, display),
        status=status,
        sensitivity=sensitivity,
    )


def problems_add(ctx: Ctx) -> None:
    for key, onset in ctx.conditions.items():
        condition = CONDITION_BY_KEY[key]
        problem_add(ctx, condition.code, condition.display, onset)
    uti_chance = (0.15 if ctx.age >= 65 else 0.06) if ctx.female else (0.05 if ctx.age >= 65 else 0.015)
    if ctx.age >= 16 and ctx.chance(uti_chance):
        onset = ctx.past_day()
        problem_add(ctx, *codes.UTI, onset, resolved_on=min(onset + timedelta(days=7), ctx.last_day))


def sensitive_add(ctx: Ctx) -> None:
    """A few items of the RCGP sensitive data set, labelled so the record withholds them by default."""
    age = ctx.age
    if 16 <= age <= 45 and ctx.chance(0.02):
        onset = ctx.past_day()
        problem_add(
            ctx,
            *ctx.rng.choice(codes.STI_CODES),
            onset,
            resolved_on=min(onset + timedelta(days=21), ctx.last_day),
            sensitivity=Sensitivity.SEXUAL_HEALTH,
        )
    if ctx.female and 25 <= age <= 45 and ctx.chance(0.012):
        problem_add(ctx, *codes.FERTILITY_CLINIC, ctx.past_day(), sensitivity=Sensitivity.FERTILITY)
    if ctx.female and 16 <= age <= 44 and ctx.chance(0.006):
        day = ctx.past_day()
        authored = ctx.clinic_time(day)
        code, display = codes.TERMINATION_SELF_REFERRAL
        resource = {
            "resourceType": "ServiceRequest",
            "meta": RESTRICTED_LABEL,
            "status": "completed",
            "intent": "order",
            "code": codes.concept(SNOMED, code, display),
            "subject": ctx.subject,
            "authoredOn": authored.isoformat(),
        }
        ctx.add(
            ctx.sources.gp,
            EntryCategory.REFERRAL,
            resource,
            key=ctx.key("REF"),
            summary=display,
            occurred_at=authored,
            subtype="self-referral",
            code=(SNOMED, code, display),
            status="completed",
            sensitivity=Sensitivity.TERMINATION,
        )


def _allergy(ctx: Ctx, code: str, display: str, category: str | None, recorded: date, **extra) -> dict:
    resource = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _ALLERGY_ACTIVE,
        "verificationStatus": _ALLERGY_CONFIRMED,
        "code": codes.concept(SNOMED, code, display),
        "patient": ctx.subject,
        "recordedDate": recorded.isoformat(),
        "recorder": ctx.clinician(ctx.person.gp),
    }
    if category:
        resource["type"] = "allergy"
        resource["category"] = [category]
    resource.update(extra)
    return resource


def allergies_add(ctx: Ctx) -> None:
    born = ctx.person.date_of_birth
    gp = ctx.sources.gp
    if ctx.chance(0.06):
        ctx.allergic_to_penicillin = True
        recorded = ctx.day_between(born + timedelta(days=200), ctx.last_day)
        resource = _allergy(
            ctx,
            *codes.AMOXICILLIN_SUBSTANCE,
            "medication",
            recorded,
            criticality="low",
            reaction=[
                {
                    "substance": codes.concept(SNOMED, *codes.AMOXICILLIN_SUBSTANCE),
                    "manifestation": [codes.concept(SNOMED, *codes.URTICARIAL_RASH)],
                    "severity": "moderate",
                }
            ],
        )
        ctx.add(
            gp,
            EntryCategory.ALLERGY,
            resource,
            key=ctx.key("ALG"),
            summary="Amoxicillin allergy: urticarial rash",
            occurred_at=at(recorded, 11),
            subtype="drug",
            code=(SNOMED, *codes.AMOXICILLIN_SUBSTANCE),
            status="active",
        )
    elif ctx.chance(0.5 if ctx.age >= 16 else 0.25):
        recorded = ctx.day_between(max(born, ctx.last_day - timedelta(days=3650)), ctx.last_day)
        resource = _allergy(ctx, *codes.NO_KNOWN_DRUG_ALLERGY, None, recorded)
        ctx.add(
            gp,
            EntryCategory.ALLERGY,
            resource,
            key=ctx.key("ALG"),
            summary="No known drug allergy",
            occurred_at=at(recorded, 11),
            subtype="none-known",
            code=(SNOMED, *codes.NO_KNOWN_DRUG_ALLERGY),
            status="active",
        )
    if ctx.chance(0.12):
        for code, display, category, reaction in ctx.rng.sample(
            codes.OTHER_ALLERGIES, 2 if ctx.chance(0.2) else 1
        ):
            recorded = ctx.day_between(born + timedelta(days=300), ctx.last_day)
            resource = _allergy(
                ctx,
                code,
                display,
                category,
                recorded,
                criticality="high" if code == "91935009" else "low",
                reaction=[{"manifestation": [{"text": reaction}]}],
            )
            ctx.add(
                gp,
                EntryCategory.ALLERGY,
                resource,
                key=ctx.key("ALG"),
                summary=f"{display}: {reaction.lower()}",
                occurred_at=at(recorded, 11),
                subtype=category,
                code=(SNOMED, code, display),
                status="active",
            )


def medication_request_add(
    ctx: Ctx,
    medicine: Medicine,
    started: date,
    *,
    ended: date | None = None,
    repeat: bool = True,
    reason: dict | None = None,
    old_code: bool = False,
) -> None:
    code = (medicine.old_id or medicine.current_id) if old_code else medicine.current_id
    status = ("stopped" if ended else "active") if repeat else "completed"
    authored = ctx.clinic_time(started)
    resource = {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "category": _COMMUNITY,
        "medicationCodeableConcept": codes.concept(codes.DMD, code, medicine.display),
        "subject": ctx.subject,
        "authoredOn": authored.isoformat(),
        "requester": ctx.clinician(ctx.person.gp),
        "courseOfTherapyType": _CONTINUOUS if repeat else _ACUTE,
        "dosageInstruction": [{"text": medicine.dose}],
        "dispenseRequest": {
            "quantity": {"value": medicine.quantity, "unit": medicine.unit},
            **({"expectedSupplyDuration": _DAYS_28} if repeat else {}),
        },
    }
    if reason:
        resource["reasonCode"] = [reason]
    kind = "repeat" if repeat else "acute"
    summary = f"{medicine.display}: {medicine.dose.lower()} ({kind}"
    summary += f", stopped {fmt_date(ended)})" if ended and repeat else ")"
    ctx.add(
        ctx.sources.gp,
        EntryCategory.MEDICATION,
        resource,
        key=ctx.key("MED"),
        summary=summary,
        occurred_at=authored,
        ended_at=at(ended, 12) if ended else None,
        subtype=kind,
        code=(codes.DMD, code, medicine.display),
        status=status,
    )


def medications_add(ctx: Ctx) -> None:
    death = ctx.person.date_of_death
    for key, onset in ctx.conditions.items():
        condition = CONDITION_BY_KEY[key]
        reason = codes.concept(SNOMED, condition.code, condition.display)
        for position, group in enumerate(condition.medicines):
            if not ctx.chance(0.9 if position == 0 else 0.45):
                continue
            started = min(onset + timedelta(days=ctx.rng.randint(7, 90)), ctx.last_day)
            choice = ctx.rng.choice(group)
            if len(group) > 1 and ctx.chance(0.2):
                # Switched once: the first medicine is stopped, and history still holds its old dm+d id.
                previous = ctx.rng.choice([m for m in group if m != choice])
                switched = ctx.day_between(started, ctx.last_day)
                medication_request_add(
                    ctx, MEDICINES[previous], started, ended=switched, reason=reason, old_code=True
                )
                started = switched
            medication_request_add(ctx, MEDICINES[choice], started, ended=death, reason=reason)
    if ctx.age >= 65 and ctx.chance(0.2):
        painkiller = "paracetamol500" if ctx.chance(0.6) else "cocodamol30_500"
        medication_request_add(ctx, MEDICINES[painkiller], ctx.past_day(since=ctx.start), ended=death)
    mean = 0.25 + (0.25 if ctx.age >= 65 else 0) + (1.0 if "copd" in ctx.conditions else 0)
    antibiotics = [a for a in codes.ANTIBIOTICS if not (ctx.allergic_to_penicillin and a == "amoxicillin500")]
    for _ in range(ctx.count(mean * 3, 6)):
        medication_request_add(
            ctx,
            MEDICINES[ctx.rng.choice(antibiotics)],
            ctx.past_day(),
            repeat=False,
            reason={"text": ctx.rng.choice(ACUTE_REASONS)},
        )


def flag_add(
    ctx: Ctx,
    source: str,
    code: tuple[str, str],
    text: str,
    category: tuple[str, str],
    since: date,
    *,
    author: dict,
    sensitivity: str = Sensitivity.NORMAL,
) -> None:
    ended = ctx.person.date_of_death
    status = "inactive" if ended else "active"
    resource = {
        "resourceType": "Flag",
        "status": status,
        "category": [codes.concept(FLAG_CATEGORY, *category)],
        "code": {"coding": [codes.coding(SNOMED, *code)], "text": text},
        "subject": ctx.subject,
        "period": {"start": since.isoformat(), **({"end": ended.isoformat()} if ended else {})},
        "author": author,
    }
    if sensitivity != Sensitivity.NORMAL:
        resource["meta"] = RESTRICTED_LABEL
    ctx.add(
        source,
        EntryCategory.ALERT,
        resource,
        key=ctx.key("FLG"),
        summary=f"{text} (since {fmt_date(since)})",
        occurred_at=at(since, 10),
        ended_at=at(ended, 12) if ended else None,
        subtype=category[0],
        code=(SNOMED, *code),
        status=status,
        sensitivity=sensitivity,
    )


def clinical_alerts_add(ctx: Ctx) -> None:
    """DNACPR decisions recorded by the GP, commoner in the very old and the seriously ill."""
    serious = {"dementia", "alzheimers", "heart_failure", "copd", "breast_cancer", "prostate_cancer"}
    chance = 0.3 if ctx.age >= 85 else 0.08 if ctx.age >= 75 else 0.01 if ctx.age >= 60 else 0
    if serious & ctx.conditions.keys():
        chance += 0.2
    if not ctx.alive:
        chance += 0.3
    if chance and ctx.chance(chance):
        flag_add(
            ctx,
            ctx.sources.gp,
            codes.DNACPR,
            "Do not attempt cardiopulmonary resuscitation (DNACPR)",
            ("advance-directive", "Advance Directive"),
            ctx.day_between(ctx.last_day - timedelta(days=900), ctx.last_day),
            author=ctx.clinician(ctx.person.gp),
        )
