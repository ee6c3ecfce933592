"""Dorset towns, their postcode districts and the services that cover them, and made-up street addresses.

Postcode districts are the real ones for each town; sectors and units are random, so a postcode looks right
but need not exist. Phone numbers are from Ofcom's ranges kept for drama (01632 960xxx, 07700 900xxx), which
are never allocated to a real line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

COUNTY = "Dorset"


@dataclass(frozen=True)
class Town:
    name: str
    districts: tuple[str, ...]
    hospital: str  # ODS code of the acute trust most people there use
    council: str  # code of the council's Organisation (see organisations.py)
    practices: int  # how many GP practices the demo puts there
    weight: int  # share of the population (relative)


DORSET_COUNCIL = "LOCAL-DORSET"
BCP_COUNCIL = "LOCAL-BCP"

TOWNS: tuple[Town, ...] = (
    Town("Bournemouth", tuple(f"BH{n}" for n in range(1, 12)), "R0D", BCP_COUNCIL, 18, 190),
    Town("Poole", ("BH12", "BH13", "BH14", "BH15", "BH16", "BH17", "BH18"), "R0D", BCP_COUNCIL, 15, 150),
    Town("Christchurch", ("BH23",), "R0D", BCP_COUNCIL, 6, 50),
    Town("Weymouth", ("DT3", "DT4"), "RBD", DORSET_COUNCIL, 8, 55),
    Town("Dorchester", ("DT1", "DT2"), "RBD", DORSET_COUNCIL, 6, 40),
    Town("Portland", ("DT5",), "RBD", DORSET_COUNCIL, 2, 13),
    Town("Bridport", ("DT6",), "RBD", DORSET_COUNCIL, 4, 20),
    Town("Lyme Regis", ("DT7",), "RBD", DORSET_COUNCIL, 1, 5),
    Town("Beaminster", ("DT8",), "RBD", DORSET_COUNCIL, 1, 4),
    Town("Sherborne", ("DT9",), "RBD", DORSET_COUNCIL, 2, 12),
    Town("Sturminster Newton", ("DT10",), "RBD", DORSET_COUNCIL, 1, 5),
    Town("Blandford Forum", ("DT11",), "RBD", DORSET_COUNCIL, 2, 12),
    Town("Shaftesbury", ("SP7",), "RNZ", DORSET_COUNCIL, 2, 9),
    Town("Gillingham", ("SP8",), "RNZ", DORSET_COUNCIL, 2, 12),
    Town("Wareham", ("BH20",), "R0D", DORSET_COUNCIL, 3, 15),
    Town("Swanage", ("BH19",), "R0D", DORSET_COUNCIL, 2, 10),
    Town("Wimborne Minster", ("BH21",), "R0D", DORSET_COUNCIL, 5, 22),
    Town("Ferndown", ("BH22",), "R0D", DORSET_COUNCIL, 4, 20),
    Town("Verwood", ("BH31",), "R0D", DORSET_COUNCIL, 2, 12),
)
TOWN_BY_NAME = {town.name: town for town in TOWNS}

STREETS = (
    "High Street",
    "Church Lane",
    "Church Street",
    "Station Road",
    "Mill Lane",
    "Victoria Road",
    "West Street",
    "East Street",
    "North Street",
    "South Street",
    "King Street",
    "Queen Street",
    "The Avenue",
    "Park Road",
    "London Road",
    "Manor Road",
    "Springfield Road",
    "Orchard Close",
    "Meadow Way",
    "School Lane",
    "Green Lane",
    "Chapel Lane",
    "Castle Road",
    "Bridge Street",
    "Kingsway",
    "Albert Road",
    "Alexandra Road",
    "Grove Road",
    "Salisbury Road",
    "Sea View Road",
    "Harbour Road",
    "Cliff Road",
    "Heath Road",
    "Ridgeway",
    "Coronation Road",
    "Elm Close",
    "Beech Avenue",
    "Oak Drive",
    "Ash Grove",
    "Willow Way",
    "Hawthorn Road",
    "Chestnut Avenue",
    "Priory Road",
    "Abbey Road",
    "Wessex Road",
    "Stour Road",
    "Frome Road",
    "Purbeck Road",
    "Portland Road",
    "Hardy Avenue",
    "Barnes Close",
    "St Mary's Road",
    "St John's Road",
    "Mount Pleasant",
    "Fairfield Road",
    "Brook Lane",
    "Broad Lane",
    "Dorchester Road",
    "Poole Road",
)
HOUSE_NAMES = (
    "Rose Cottage",
    "The Old Rectory",
    "Ivy Cottage",
    "Orchard House",
    "The Laurels",
    "Hillside",
    "Sea View",
    "Meadow View",
    "The Willows",
    "Holly Cottage",
    "Yew Tree Cottage",
    "The Old Forge",
)
BLOCKS = ("Harbour Court", "Wessex House", "Abbey Court", "Priory Mews", "Victoria Court", "Stour House")
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # postcode units never use C, I, K, M, O or V


@dataclass(frozen=True)
class Address:
    lines: str  # one line each
    town: str
    postcode: str

    def as_fhir(self, use: str = "home") -> dict:
        return {
            "use": use,
            "line": self.lines.splitlines(),
            "city": self.town,
            "district": COUNTY,
            "postalCode": self.postcode,
        }


def postcode(rng: random.Random, town: Town) -> str:
    district = rng.choice(town.districts)
    return f"{district} {rng.randrange(10)}{rng.choice(_UNIT_LETTERS)}{rng.choice(_UNIT_LETTERS)}"


def street_address(rng: random.Random, town: Town) -> Address:
    street = rng.choice(STREETS)
    roll = rng.random()
    if roll < 0.12:
        lines = f"{rng.choice(HOUSE_NAMES)}\n{street}"
    elif roll < 0.22:
        lines = f"Flat {rng.randint(1, 24)}, {rng.choice(BLOCKS)}\n{rng.randint(1, 90)} {street}"
    else:
        lines = f"{rng.randint(1, 140)} {street}"
    return Address(lines, town.name, postcode(rng, town))


def landline(rng: random.Random) -> str:
    return f"01632 960{rng.randrange(1000):03d}"


def mobile(rng: random.Random) -> str:
    return f"07700 900{rng.randrange(1000):03d}"
