"""Synthetic people: demographics as a pure function of (seed, index, as-of date)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from nhs_number import calculate_checksum

from records.demo import places
from records.demo.names import first_name, surname
from records.demo.organisations import Clinician, OrganisationSpec, practice_choose
from records.demo.places import TOWN_BY_NAME, Address, Town

# Ten digits: 999 (test range), a five-digit block, one free digit and the check digit. Each block holds at
# least nine valid numbers (the free digit moves the weighted sum by 2 each step, so at most one of ten
# gives the invalid check value 10), which allows 900,000 people.
PEOPLE_PER_BLOCK = 9
MAX_PEOPLE = 100_000 * PEOPLE_PER_BLOCK

# (from age, to age, share of the population %): an older population than England's, as Dorset's is.
AGE_BANDS = (
    (0, 4, 4.5),
    (5, 17, 13.0),
    (18, 29, 11.0),
    (30, 44, 15.0),
    (45, 64, 28.0),
    (65, 74, 14.0),
    (75, 84, 10.0),
    (85, 99, 4.5),
)
_AGE_WEIGHTS = tuple(band[2] for band in AGE_BANDS)


def demo_nhs_number(index: int) -> str:
    """The index-th demo NHS number: 999-prefixed with a valid check digit, the same for every run.

    Counted down from 999 999 99xx, so they never meet the test factories' numbers, counted up from
    999 000 00xx.
    """
    if not 0 <= index < MAX_PEOPLE:
        raise ValueError(f"the demo has room for {MAX_PEOPLE} people; index {index} is out of range")
    block, position = divmod(index, PEOPLE_PER_BLOCK)
    stem = f"999{99_999 - block:05d}"
    found = -1
    for digit in "0123456789":
        check = calculate_checksum(stem + digit)
        if check != 10:
            found += 1
            if found == position:
                return f"{stem}{digit}{check}"
    raise AssertionError("unreachable: every block has at least nine valid numbers")


@dataclass(frozen=True)
class PersonSpec:
    index: int
    nhs_number: str
    title: str
    given_names: str
    family_name: str
    gender: str  # FHIR administrative-gender
    date_of_birth: date
    date_of_death: date | None
    phone_home: str
    phone_mobile: str
    email: str
    practice: OrganisationSpec
    gp: Clinician
    address: Address
    address_since: date
    is_restricted: bool
    as_of: date

    @property
    def female(self) -> bool:
        return self.gender == "female"

    @property
    def town(self) -> Town:
        return TOWN_BY_NAME[self.address.town]

    @property
    def last_day(self) -> date:
        """The last day anything can have happened: the day of death, or the day before the as-of date."""
        return self.date_of_death or self.as_of - timedelta(days=1)

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int:
        """Age now, or at death."""
        return self.age_on(self.last_day)

    @property
    def display_name(self) -> str:
        return f"{self.given_names} {self.family_name}"


def _death_chance(age: int) -> float:
    if age >= 85:
        return 0.12
    if age >= 75:
        return 0.05
    if age >= 65:
        return 0.02
    return 0.003


def person_spec(*, seed: int, index: int, as_of: date) -> PersonSpec:
    """Person `index` of the population: the same person for the same seed and date, whatever the size."""
    rng = random.Random(f"{seed}:person:{index}")
    low, high, _ = rng.choices(AGE_BANDS, weights=_AGE_WEIGHTS)[0]
    age_days = rng.randint(max(1, int(low * 365.25)), int((high + 1) * 365.25) - 1)
    born = as_of - timedelta(days=age_days)
    age = age_days // 365
    female = rng.random() < (0.5 if age < 70 else 0.56)
    died = None
    if rng.random() < _death_chance(age) and age_days > 60:
        died = as_of - timedelta(days=rng.randint(20, min(900, age_days - 1)))
    practice = practice_choose(rng)
    town = TOWN_BY_NAME[practice.town]
    family = surname(rng)
    given = first_name(rng, female, born.year)
    if rng.random() < 0.3:
        given = f"{given} {first_name(rng, female, born.year)}"
    if age < 16:
        title = ""
    elif rng.random() < 0.01:
        title = "Dr"
    elif not female:
        title = "Mr"
    else:
        title = rng.choices(("Mrs", "Ms", "Miss"), weights=(5, 3, 2) if age >= 25 else (1, 3, 6))[0]
    address = places.street_address(rng, town)
    moved_in = as_of - timedelta(days=rng.randint(30, max(30, min(age_days, 40 * 365))))
    phone_home = places.landline(rng) if rng.random() < (0.85 if age >= 65 else 0.35) else ""
    phone_mobile = places.mobile(rng) if age >= 12 and rng.random() < (0.6 if age >= 80 else 0.92) else ""
    email = ""
    if 18 <= age < 80 and rng.random() < 0.35:
        email = f"{given.split()[0]}.{family}{rng.randrange(100)}@example.com".lower().replace("'", "")
    return PersonSpec(
        index=index,
        nhs_number=demo_nhs_number(index),
        title=title,
        given_names=given,
        family_name=family,
        gender="female" if female else "male",
        date_of_birth=born,
        date_of_death=died,
        phone_home=phone_home,
        phone_mobile=phone_mobile,
        email=email,
        practice=practice,
        gp=rng.choice(practice.clinicians),
        address=address,
        address_since=max(moved_in, born),
        is_restricted=rng.random() < 0.003,
        as_of=as_of,
    )
