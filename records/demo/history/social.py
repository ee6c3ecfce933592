"""Adult social care (care and support plans, reviews, carers and providers, alerts), clinical care plans,
and the next of kin the GP record holds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from records.demo import codes, places
from records.demo.codes import CARE_PACKAGES, DELIVERY_MECHANISMS, SNOMED
from records.demo.history.care import encounter_add
from records.demo.history.clinical import flag_add
from records.demo.history.context import Ctx, at, fmt_date
from records.demo.names import first_name, surname
from records.demo.places import BCP_COUNCIL
from records.models import EntryCategory, Sensitivity

# Locality teams as the councils organise adult social care (names are the demo's).
LOCALITIES = {
    "Dorchester": "West Dorset",
    "Bridport": "West Dorset",
    "Lyme Regis": "West Dorset",
    "Beaminster": "West Dorset",
    "Sherborne": "West Dorset",
    "Weymouth": "Weymouth and Portland",
    "Portland": "Weymouth and Portland",
    "Wareham": "Purbeck",
    "Swanage": "Purbeck",
    "Blandford Forum": "North Dorset",
    "Sturminster Newton": "North Dorset",
    "Shaftesbury": "North Dorset",
    "Gillingham": "North Dorset",
    "Wimborne Minster": "East Dorset",
    "Ferndown": "East Dorset",
    "Verwood": "East Dorset",
}
HOME_CARE_PROVIDERS = (
    "Wessex Home Care",
    "Purbeck Care Services",
    "Jurassic Coast Homecare",
    "Stour Valley Care",
    "Harbourside Home Support",
    "Heathland Care at Home",
)
CARE_HOMES = (
    "Hardy Lodge",
    "Chesil View",
    "Heathfield House",
    "The Beeches",
    "Wyvern Court",
    "Downland House",
)
_PLAN_CATEGORY = {
    key: codes.concept(codes.CARE_PACKAGE_TYPE, key, text) for key, text in CARE_PACKAGES.items()
}
_DELIVERY = {
    key: codes.concept(codes.DELIVERY_MECHANISM, key, text) for key, text in DELIVERY_MECHANISMS.items()
}


def team_name(town: str, council: str) -> str:
    if council == BCP_COUNCIL:
        locality = town if town in ("Bournemouth", "Poole", "Christchurch") else "Bournemouth"
        return f"{locality} adult social care locality team"
    return f"{LOCALITIES.get(town, 'West Dorset')} adult social care locality team"


@cache
def _team_workers(team: str) -> tuple[str, ...]:
    rng = random.Random(f"team:{team}")
    return tuple(f"{first_name(rng, rng.random() < 0.75)} {surname(rng)}" for _ in range(8))


@dataclass
class Worker:
    name: str
    role: str
    team: str

    @property
    def reference(self) -> dict:
        return {"display": f"{self.name}, {self.role}, {self.team}"}


@dataclass
class Package:
    kind: str
    start: date
    end: date | None
    delivery: str
    provider: str
    detail: str
    weekly_cost: float


def _packages(ctx: Ctx, begins: date) -> list[Package]:
    """A believable sequence of packages from the first assessment on."""
    rng, town = ctx.rng, ctx.person.town.name
    dementia = bool(ctx.conditions.keys() & {"dementia", "alzheimers"})
    home_care = Package(
        "home-care",
        begins,
        None,
        "commissioned",
        rng.choice(HOME_CARE_PROVIDERS),
        f"{rng.choice(('One', 'Two', 'Three', 'Four'))} calls a day for personal care, meals and "
        "medication prompts.",
        round(rng.uniform(150, 620), 2),
    )
    roll = rng.random()
    if roll < 0.35:
        reablement_end = begins + timedelta(days=42)
        reablement = Package(
            "reablement",
            begins,
            reablement_end,
            "commissioned",
            "Reablement service",
            "Six weeks of short-term support to regain independence after a stay in hospital.",
            0.0,
        )
        if rng.random() < 0.55:
            home_care.start = reablement_end
            return [reablement, home_care]
        return [reablement]
    if roll < 0.6:
        return [home_care]
    if roll < 0.72:
        return [
            Package(
                "direct-payment",
                begins,
                None,
                "direct-payment",
                "Personal assistant employed by the person",
                "Direct payment to employ a personal assistant for 12 hours a week.",
                round(rng.uniform(180, 320), 2),
            )
        ]
    if roll < 0.8:
        return [
            Package(
                "day-services",
                begins,
                None,
                "commissioned",
                f"{town} Day Centre",
                "Two days a week at the day centre, with transport.",
                round(rng.uniform(80, 160), 2),
            )
        ]
    nursing = dementia or rng.random() < 0.4
    home = f"{rng.choice(CARE_HOMES)} {'Nursing Home' if nursing else 'Care Home'}"
    return [
        Package(
            "nursing-care" if nursing else "residential-care",
            begins,
            None,
            "managed-budget",
            home,
            f"Permanent placement at {home}, {town}.",
            round(rng.uniform(950, 1650), 2),
        )
    ]


def social_care_add(ctx: Ctx) -> None:
    age, rng, person = ctx.age, ctx.rng, ctx.person
    chance = 0.28 if age >= 85 else 0.1 if age >= 75 else 0.03 if age >= 65 else 0.0
    if ctx.conditions.keys() & {"dementia", "alzheimers", "stroke", "parkinsons", "heart_failure"}:
        chance = min(0.6, chance + 0.2 if chance else 0.05)
    if ctx.conditions.keys() & {"schizophrenia", "bipolar"} and age >= 18:
        chance = max(chance, 0.15)
    if not chance or not ctx.chance(chance):
        if age >= 18 and ctx.chance(0.0015):
            _safeguarding_flag(
                ctx,
                Worker(
                    rng.choice(_team_workers("Adult safeguarding team")),
                    "safeguarding officer",
                    "Adult safeguarding team",
                ),
            )
        return
    council = ctx.council
    source = ctx.sources.council
    team = team_name(person.town.name, council.ods_code)
    worker = Worker(
        rng.choice(_team_workers(team)), rng.choice(("social worker", "social worker", "care manager")), team
    )
    earliest = max(ctx.last_day - timedelta(days=4 * 365), person.date_of_birth + timedelta(days=18 * 365))
    assessed = ctx.day_between(earliest, ctx.last_day - timedelta(days=30))
    start = ctx.clinic_time(assessed, 9, 16)
    encounter_add(
        ctx,
        source,
        cls="HH",
        kind="Care Act needs assessment",
        start=start,
        end=start + timedelta(minutes=rng.randint(60, 120)),
        reason={"text": "Request for support"},
        provider=council,
        participant=worker.reference,
        summary=f"Care Act needs assessment by {worker.name} ({worker.team})",
        subtype="assessment",
    )
    packages = _packages(ctx, assessed + timedelta(days=rng.randint(3, 21)))
    at_home = True
    for package in packages:
        if package.start > ctx.last_day:
            continue
        care_plan_add(ctx, package, worker)
        if package.kind in ("residential-care", "nursing-care"):
            at_home = False
        if package.kind == "home-care":
            _provider_add(ctx, package)
    if ctx.chance(0.55):
        carer_add(ctx)
    if at_home and ctx.chance(0.45):
        flag_add(
            ctx,
            source,
            codes.LIVES_ALONE,
            "Lives alone",
            ("safety", "Safety"),
            assessed,
            author=worker.reference,
        )
    if ctx.chance(0.3):
        flag_add(
            ctx,
            source,
            codes.AT_RISK_OF_FALLS,
            "At risk of falls",
            ("safety", "Safety"),
            assessed,
            author=worker.reference,
        )
    if ctx.chance(0.04):
        flag_add(
            ctx,
            source,
            codes.AT_RISK_OF_SELF_NEGLECT,
            "At risk of self-neglect",
            ("safety", "Safety"),
            assessed,
            author=worker.reference,
        )
    if ctx.chance(0.03):
        _safeguarding_flag(ctx, worker)


def _safeguarding_flag(ctx: Ctx, worker: Worker) -> None:
    code = codes.VULNERABLE_ADULT if ctx.chance(0.6) else codes.AT_RISK_OF_FINANCIAL_ABUSE
    flag_add(
        ctx,
        ctx.sources.council,
        code,
        f"Safeguarding concern: {code[1].lower()}. Contact the adult safeguarding team before sharing "
        "information.",
        ("safety", "Safety"),
        ctx.past_day(),
        author=worker.reference,
        sensitivity=Sensitivity.SAFEGUARDING,
    )


def care_plan_add(ctx: Ctx, package: Package, worker: Worker) -> None:
    rng, source = ctx.rng, ctx.sources.council
    death = ctx.person.date_of_death
    end = package.end if package.end and package.end <= ctx.last_day else None
    if death and not end:
        end = death
    active = end is None
    name = CARE_PACKAGES[package.kind]
    short = name.split(" (")[0]
    start_time = ctx.clinic_time(package.start, 9, 16)
    review_type, last_review = "Planned", None
    if package.kind == "reablement":
        review_due = package.end
        review_text = "End-of-reablement review"
    else:
        # Reviewed about yearly (Care Act s27); some reviews are overdue, as on any caseload.
        day = package.start + timedelta(days=rng.randint(42, 90))
        while day < ctx.last_day and (end is None or day < end):
            if active and day + timedelta(days=300) >= ctx.last_day and rng.random() < 0.15:
                break  # the latest review is overdue: due on `day`, not yet done
            last_review = day
            unplanned = rng.random() < 0.2
            review_type = "Unplanned" if unplanned else "Planned"
            review_start = ctx.clinic_time(day, 9, 16)
            encounter_add(
                ctx,
                source,
                cls="HH",
                kind=f"{review_type} review of care and support plan",
                start=review_start,
                end=review_start + timedelta(minutes=rng.randint(45, 90)),
                reason={"text": "Change in needs" if unplanned else "Annual review"},
                provider=ctx.council,
                participant=worker.reference,
                summary=f"{review_type} care and support plan review ({short.lower()})",
                subtype="review",
            )
            day += timedelta(days=rng.randint(300, 420))
        review_due = day if active else None
        review_text = "Annual review (Care Act s27)"
    key = ctx.key("CP")
    activity_status = "in-progress" if active else "completed"
    activities = [
        {
            "detail": {
                "kind": "ServiceRequest",
                "code": {"text": short},
                "status": activity_status,
                "scheduledPeriod": {
                    "start": package.start.isoformat(),
                    **({"end": end.isoformat()} if end else {}),
                },
                "performer": [{"display": package.provider}],
                "description": package.detail,
            }
        }
    ]
    if active and review_due:
        activities.append(
            {
                "detail": {
                    "kind": "Appointment",
                    "code": {"text": review_text},
                    "status": "scheduled",
                    "scheduledPeriod": {"start": review_due.isoformat()},
                    "description": f"{review_text} due {fmt_date(review_due)}, by {worker.name}",
                }
            }
        )
    note = f"Allocated worker: {worker.name} ({worker.role}), {worker.team}."
    if package.weekly_cost:
        note += f" Personal budget £{package.weekly_cost:,.2f} a week."
    if last_review:
        note += f" Last review {fmt_date(last_review)} ({review_type.lower()})."
    resource = {
        "resourceType": "CarePlan",
        "identifier": ctx.identifier(source, key),
        "status": "active" if active else "completed",
        "intent": "plan",
        "category": [_PLAN_CATEGORY[package.kind], _DELIVERY[package.delivery]],
        "title": f"Care and support plan: {short.lower()}",
        "description": package.detail,
        "subject": ctx.subject,
        "period": {"start": package.start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "created": start_time.isoformat(),
        "author": worker.reference,
        "contributor": [{"display": worker.team}],
        "activity": activities,
        "note": [{"text": note}],
    }
    if active and review_due:
        summary = f"{short}: {package.provider}; review due {fmt_date(review_due)}"
    else:
        summary = (
            f"{short}: {package.provider} ({fmt_date(package.start)} to {fmt_date(end) if end else 'now'})"
        )
    ctx.add(
        source,
        EntryCategory.CARE_PLAN,
        resource,
        key=key,
        summary=summary,
        occurred_at=start_time,
        ended_at=at(end, 17) if end else None,
        updated_at=ctx.updated(ctx.clinic_time(last_review or package.start, 9, 16)),
        subtype=package.kind,
        code=(codes.CARE_PACKAGE_TYPE, package.kind, name),
        status=resource["status"],
        review_due_on=review_due if active else None,
        allocated_team=worker.team,
    )


CLINICAL_PLANS = {
    "t2dm": ("698360004", "Diabetes self management plan"),
    "t1dm": ("698360004", "Diabetes self management plan"),
    "dementia": ("386257007", "Dementia management"),
    "alzheimers": ("386257007", "Dementia management"),
}


def clinical_care_plans_add(ctx: Ctx) -> None:
    """Care plans the GP keeps for diabetes and dementia (SNOMED codes as Synthea's fixtures use them)."""
    for key, (code, display) in CLINICAL_PLANS.items():
        if key not in ctx.conditions or not ctx.chance(0.5):
            continue
        created = ctx.day_between(max(ctx.conditions[key], ctx.start), ctx.last_day)
        review = created + timedelta(days=365)
        while review < ctx.person.as_of - timedelta(days=60):
            review += timedelta(days=365)
        active = ctx.alive
        resource = {
            "resourceType": "CarePlan",
            "identifier": ctx.identifier(ctx.sources.gp, f"GCP{ctx.person.index:07d}-{key}"),
            "status": "active" if active else "completed",
            "intent": "plan",
            "category": [codes.concept(SNOMED, code, display)],
            "title": display,
            "subject": ctx.subject,
            "period": {"start": created.isoformat()},
            "created": created.isoformat(),
            "author": ctx.clinician(ctx.person.gp),
            "activity": [
                {
                    "detail": {
                        "kind": "Appointment",
                        "code": {"text": "Annual review"},
                        "status": "scheduled" if active else "cancelled",
                        "scheduledPeriod": {"start": review.isoformat()},
                    }
                }
            ],
        }
        ctx.add(
            ctx.sources.gp,
            EntryCategory.CARE_PLAN,
            resource,
            key=ctx.key("GCP"),
            summary=f"{display}; annual review due {fmt_date(review)}" if active else display,
            occurred_at=at(created, 11),
            subtype="clinical",
            code=(SNOMED, code, display),
            status=resource["status"],
            review_due_on=review if active else None,
        )


# --- related people ---


def _relative(ctx: Ctx, relation: str) -> tuple[str, str, bool]:
    """(given, family, female) for a relative of the person."""
    rng, person = ctx.rng, ctx.person
    female = relation in ("wife", "daughter", "mother", "sister") or (
        relation in ("partner", "neighbour", "friend") and rng.random() < 0.5
    )
    born = person.date_of_birth.year + {"daughter": 28, "son": 28, "mother": -28, "father": -30}.get(
        relation, 0
    )
    family = person.family_name
    if relation in ("daughter", "neighbour", "friend", "partner") and rng.random() < 0.6:
        family = surname(rng)
    return first_name(rng, female, born), family, female


def _next_of_kin_relation(ctx: Ctx) -> str:
    rng, age = ctx.rng, ctx.age
    if age < 18:
        return "mother" if rng.random() < 0.7 else "father"
    if age < 30:
        return rng.choice(("mother", "father", "partner"))
    if age < 65:
        return rng.choice(("wife" if not ctx.female else "husband", "partner", "sister", "brother", "mother"))
    roll = rng.random()
    if roll < 0.45:
        return "husband" if ctx.female else "wife"
    if roll < 0.92:
        return rng.choice(("daughter", "son"))
    return rng.choice(("neighbour", "friend"))


def related_person_add(
    ctx: Ctx, source: str, relation: str, *, roles: tuple[tuple[str, str, str], ...], subtype: str, label: str
) -> None:
    given, family, female = _relative(ctx, relation)
    system, code, display = codes.FAMILY_ROLES[relation]
    phone = places.mobile(ctx.rng)
    lives_with = relation in ("wife", "husband", "partner", "mother", "father") and ctx.rng.random() < 0.8
    resource = {
        "resourceType": "RelatedPerson",
        "identifier": ctx.identifier(source, ctx.key("RP")),
        "active": ctx.alive,
        "patient": ctx.subject,
        "relationship": [codes.concept(*role) for role in roles] + [codes.concept(system, code, display)],
        "name": [{"use": "usual", "family": family, "given": [given], "text": f"{given} {family}"}],
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "gender": "female" if female else "male",
    }
    if lives_with:
        resource["address"] = [ctx.person.address.as_fhir()]
    since = ctx.day_between(max(ctx.start, ctx.person.date_of_birth), ctx.last_day)
    ctx.add(
        source,
        EntryCategory.RELATED_PERSON,
        resource,
        key=resource["identifier"][0]["value"],
        summary=f"{label}: {given} {family} ({relation}), {phone}",
        occurred_at=at(since, 10),
        subtype=subtype,
        code=(system, code, display),
        status="active" if ctx.alive else "inactive",
    )


def next_of_kin_add(ctx: Ctx) -> None:
    age = ctx.age
    chance = 0.8 if age < 16 else 0.35 if age < 65 else 0.75
    if ctx.chance(chance):
        related_person_add(
            ctx,
            ctx.sources.gp,
            _next_of_kin_relation(ctx),
            roles=(codes.NEXT_OF_KIN,),
            subtype="next-of-kin",
            label="Next of kin",
        )


def carer_add(ctx: Ctx) -> None:
    relation = ctx.rng.choice(("daughter", "son", "wife" if not ctx.female else "husband", "neighbour"))
    related_person_add(
        ctx, ctx.sources.council, relation, roles=(codes.CARER,), subtype="carer", label="Carer"
    )


def _provider_add(ctx: Ctx, package: Package) -> None:
    system, code, display = codes.CARER
    phone = places.landline(ctx.rng)
    active = ctx.alive and package.end is None
    resource = {
        "resourceType": "RelatedPerson",
        "identifier": ctx.identifier(ctx.sources.council, ctx.key("RP")),
        "active": active,
        "patient": ctx.subject,
        "relationship": [
            {"coding": [codes.coding(system, code, display)], "text": "Paid carer (home care provider)"}
        ],
        "name": [{"text": f"{package.provider} (care provider)"}],
        "telecom": [{"system": "phone", "value": phone, "use": "work"}],
        "period": {"start": package.start.isoformat()},
    }
    ctx.add(
        ctx.sources.council,
        EntryCategory.RELATED_PERSON,
        resource,
        key=resource["identifier"][0]["value"],
        summary=f"Care provider: {package.provider}, {phone}",
        occurred_at=at(package.start, 9),
        subtype="care-provider",
        code=(system, code, display),
        status="active" if active else "inactive",
    )
