"""British names, fast: Faker's en_GB lists drawn with our own seeded Random (no Faker call per name).

Faker's first names are those of recent decades; people born before 1960 get names of their generation.
"""

from __future__ import annotations

import random
from itertools import accumulate

from faker.providers.person.en_GB import Provider as _FakerNames

_SURNAMES = tuple(_FakerNames.last_names)
_SURNAME_WEIGHTS = tuple(accumulate(_FakerNames.last_names.values()))
_FEMALE = tuple(_FakerNames.first_names_female)
_MALE = tuple(_FakerNames.first_names_male)
_OLDER_FEMALE = (
    "Margaret",
    "Patricia",
    "Barbara",
    "Joan",
    "Dorothy",
    "Jean",
    "Maureen",
    "Sheila",
    "Brenda",
    "Pauline",
    "Valerie",
    "Doreen",
    "Irene",
    "Sylvia",
    "Eileen",
    "Joyce",
    "Marion",
    "Audrey",
    "Hazel",
    "Elsie",
    "Rita",
    "Betty",
    "Gillian",
    "Christine",
    "Ann",
    "Mary",
    "Elizabeth",
    "Susan",
    "Janet",
    "Shirley",
)
_OLDER_MALE = (
    "John",
    "David",
    "Michael",
    "Peter",
    "Brian",
    "Kenneth",
    "Ronald",
    "Roy",
    "Derek",
    "Keith",
    "Dennis",
    "Geoffrey",
    "Raymond",
    "Alan",
    "Colin",
    "Terence",
    "Malcolm",
    "Trevor",
    "Norman",
    "Leslie",
    "Stanley",
    "Frederick",
    "Arthur",
    "Robert",
    "William",
    "Anthony",
    "Graham",
    "Barry",
    "Gordon",
    "Clive",
)


def first_name(rng: random.Random, female: bool, born: int = 1980) -> str:
    if born < 1960:
        return rng.choice(_OLDER_FEMALE if female else _OLDER_MALE)
    return rng.choice(_FEMALE if female else _MALE)


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
