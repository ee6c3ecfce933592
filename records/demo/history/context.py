"""What every history generator shares: the person, their Random, time helpers, references and `add`."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from records.demo import codes
from records.demo.organisations import Clinician, OrganisationSpec, organisation_by_code
from records.demo.people import PersonSpec
from records.models import Sensitivity
from records.services import EntryDraft

LONDON = ZoneInfo("Europe/London")
HISTORY_YEARS = 3  # encounters, results and letters cover this many years before the as-of date

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
RESTRICTED_LABEL = {"security": [codes.coding(codes.CONFIDENTIALITY, "R", "restricted")]}


def fmt_date(day: date) -> str:
    """As a clinician reads it: 3 Mar 2026."""
    return f"{day.day} {day.strftime('%b %Y')}"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@cache
def organisation_reference(ods_code: str) -> dict:
    spec = organisation_by_code()[ods_code]
    return {"identifier": {"system": codes.ODS, "value": ods_code}, "display": spec.name}


@cache
def clinician_reference(clinician: Clinician) -> dict:
    system = codes.GMP if clinician.code.startswith("G") else codes.GMC
    return {"identifier": {"system": system, "value": clinician.code}, "display": clinician.name}


@dataclass
class Sources:
    """The systems that hold this person's data, by role."""

    gp: str
    pas: str
    lab: str
    ris: str
    docs: str
    council: str
    community: str = "rdy-ehr"
    ambulance: str = "ryf-epcr"


@dataclass
class Ctx:
    person: PersonSpec
    rng: random.Random
    drafts: list[tuple[str, EntryDraft]] = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)
    # Set by the generators as they decide: condition key -> onset date.
    conditions: dict[str, date] = field(default_factory=dict)
    allergic_to_penicillin: bool = False
    lab: Any = None  # the person's LabProfile, made on first use (results.py)

    def __post_init__(self) -> None:
        person = self.person
        self.subject = {"identifier": {"system": codes.NHS_NUMBER, "value": person.nhs_number}}
        self.female = person.female
        self.age = person.age
        self.last_day = person.last_day
        self.alive = person.date_of_death is None
        self.start = max(person.as_of - timedelta(days=365 * HISTORY_YEARS), person.date_of_birth)
        # Nothing is stamped by a source later than the start of the as-of date.
        self.cutoff = at(person.as_of, 0) - timedelta(minutes=1)
        hospital = person.town.hospital
        self.hospital = organisation_by_code()[hospital]
        self.practice = person.practice
        self.council = organisation_by_code()[person.town.council]
        self.sources = Sources(
            gp=person.practice.source("gp"),
            pas=self.hospital.source("pas"),
            lab=self.hospital.source("lab"),
            ris=self.hospital.source("ris"),
            docs=self.hospital.source("docs"),
            council=self.council.sources[0].code,
        )

    # --- keys and time ---

    def key(self, prefix: str) -> str:
        """A business key unique within a source: prefix, person index and a running number."""
        self.counters[prefix] += 1
        return f"{prefix}{self.person.index:07d}-{self.counters[prefix]:03d}"

    def day_between(self, first: date, last: date, *, weekday: bool = True) -> date:
        if last <= first:
            return last
        day = date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))
        if weekday and day.weekday() >= 5:
            day -= timedelta(days=day.weekday() - 4)
            if day < first:
                day += timedelta(days=3)
        return day

    @staticmethod
    def weekday(day: date) -> date:
        """The day, or the Monday after it if it falls at a weekend."""
        return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day

    def past_day(self, *, since: date | None = None, weekday: bool = True) -> date:
        return self.day_between(since or self.start, self.last_day, weekday=weekday)

    def clinic_time(self, day: date, first_hour: int = 8, last_hour: int = 17) -> datetime:
        return at(day, self.rng.randint(first_hour, last_hour - 1), self.rng.choice((0, 10, 20, 30, 40, 50)))

    def any_time(self, day: date) -> datetime:
        return at(day, self.rng.randrange(24), self.rng.randrange(60))

    def updated(self, moment: datetime, *, max_hours: int = 48) -> datetime:
        """When the source last changed it: a little after it happened, never after the cut-off."""
        return min(moment + timedelta(minutes=self.rng.randint(5, max_hours * 60)), self.cutoff)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def count(self, mean: float, cap: int) -> int:
        """A Poisson count with that mean, at most `cap` (Knuth's method; normal approximation above 8)."""
        if mean <= 0:
            return 0
        if mean < 8:
            limit, product, n = math.exp(-mean), self.rng.random(), 0
            while product > limit:
                product *= self.rng.random()
                n += 1
            return min(n, cap)
        return min(cap, max(0, round(self.rng.gauss(mean, mean**0.5))))

    # --- references ---

    def org(self, spec: OrganisationSpec) -> dict:
        return organisation_reference(spec.ods_code)

    def clinician(self, clinician: Clinician) -> dict:
        return clinician_reference(clinician)

    def consultant(self, spec: OrganisationSpec | None = None) -> Clinician:
        return self.rng.choice((spec or self.hospital).clinicians)

    def identifier(self, source: str, key: str) -> list[dict]:
        return [{"system": f"https://fhir.example.nhs.uk/Id/{source}", "value": key}]

    # --- output ---

    def add(
        self,
        source: str,
        category: str,
        resource: dict,
        *,
        key: str,
        summary: str,
        occurred_at: datetime | None,
        updated_at: datetime | None = None,
        ended_at: datetime | None = None,
        subtype: str = "",
        code: tuple[str, str, str] = ("", "", ""),
        status: str = "",
        sensitivity: str = Sensitivity.NORMAL,
        review_due_on: date | None = None,
        parent_key: str | None = None,
        allocated_team: str = "",
    ) -> None:
        if updated_at is None:
            updated_at = self.updated(ended_at or occurred_at or self.cutoff)
        self.drafts.append(
            (
                source,
                EntryDraft(
                    person_id=0,
                    category=category,
                    resource=resource,
                    business_key=key,
                    source_updated_at=updated_at,
                    summary=summary[:300],
                    allocated_team=allocated_team,
                    subtype=subtype,
                    occurred_at=occurred_at,
                    ended_at=ended_at,
                    review_due_on=review_due_on,
                    code_system=code[0],
                    code=code[1],
                    code_display=code[2][:300],
                    status=status,
                    sensitivity=sensitivity,
                    parent_business_key=parent_key,
                ),
            )
        )
