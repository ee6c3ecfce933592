"""The demo's partner organisations and their source systems: pure data, the same for every seed.

Trusts and the listed GP practices carry their real ODS codes (DOMAIN.md §2); the other practices get
J81xxx-style codes. Councils have no verified ODS code, so they get clearly local codes (LOCAL-…) and keep
their ONS codes in their identifier namespace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache

from records.demo import places
from records.demo.names import first_name, surname
from records.demo.places import BCP_COUNCIL, DORSET_COUNCIL, TOWN_BY_NAME, TOWNS, Address
from records.models import Organisation, SourceSystem

Kind = Organisation.Kind
HL7V2, FHIR, CSV = SourceSystem.Kind.HL7V2, SourceSystem.Kind.FHIR, SourceSystem.Kind.CSV


@dataclass(frozen=True)
class SourceSpec:
    code: str
    name: str
    kind: str
    local_identifier_system: str
    hl7_sending_application: str = ""
    hl7_sending_facility: str = ""
    expected_interval_hours: int = 1


@dataclass(frozen=True)
class Clinician:
    """A GP (GMP code) or a hospital consultant (GMC-style C code)."""

    code: str
    name: str


@dataclass(frozen=True)
class OrganisationSpec:
    ods_code: str
    name: str
    kind: str
    address: Address
    sharing_agreement_from: date
    licences: int
    data_controller_name: str
    data_controller_email: str
    data_controller_phone: str
    sources: tuple[SourceSpec, ...]
    clinicians: tuple[Clinician, ...] = ()
    list_weight: int = 0  # GP practices: relative list size

    @property
    def town(self) -> str:
        return self.address.town

    def source(self, suffix: str) -> str:
        """Code of this organisation's source system with that suffix (pas, lab, gp…)."""
        return f"{self.ods_code.lower()}-{suffix}"


def _hospital_sources(ods: str, *, full: bool = True) -> tuple[SourceSpec, ...]:
    # PID-3 of an NHS trust's messages names the trust's ODS code as the assigning authority.
    systems = [("pas", "Patient administration system", "PAS"), ("docs", "Clinical documents", "EDM")]
    if full:
        systems += [
            ("lab", "Laboratory information system", "LIMS"),
            ("ris", "Radiology information system", "RIS"),
        ]
    return tuple(
        SourceSpec(
            f"{ods.lower()}-{suffix}",
            name,
            HL7V2,
            ods,
            hl7_sending_application=application,
            hl7_sending_facility=ods,
            expected_interval_hours=4 if suffix == "docs" else 1,
        )
        for suffix, name, application in systems
    )


def _consultants(ods: str, count: int) -> tuple[Clinician, ...]:
    rng = random.Random(f"consultants:{ods}")
    return tuple(
        Clinician(
            f"C{rng.randrange(1_000_000, 9_999_999)}",
            f"Dr {first_name(rng, rng.random() < 0.5)} {surname(rng)}",
        )
        for _ in range(count)
    )


def _gps(ods: str, count: int) -> tuple[Clinician, ...]:
    # GMP codes: G, then one of 1 2 3 4 5 8 9, then six digits (DOMAIN.md §1).
    rng = random.Random(f"gps:{ods}")
    return tuple(
        Clinician(
            f"G{rng.choice('1234589')}{rng.randrange(1_000_000):06d}",
            f"Dr {first_name(rng, rng.random() < 0.55)} {surname(rng)}",
        )
        for _ in range(count)
    )


def _ig_contact(rng: random.Random, domain: str) -> tuple[str, str, str]:
    return ("Information governance lead", f"information.governance@{domain}", places.landline(rng))


def _trust(
    ods: str,
    name: str,
    kind: str,
    address: Address,
    since: date,
    licences: int,
    sources: tuple[SourceSpec, ...],
) -> OrganisationSpec:
    rng = random.Random(f"organisation:{ods}")
    return OrganisationSpec(
        ods,
        name,
        kind,
        address,
        since,
        licences,
        *_ig_contact(rng, f"{ods.lower()}.example.nhs.uk"),
        sources=sources,
        clinicians=_consultants(ods, 40),
    )


def _council(code: str, name: str, ons_code: str, address: Address, slug: str) -> OrganisationSpec:
    rng = random.Random(f"organisation:{code}")
    source = SourceSpec(
        f"{slug}-asc",
        "Adult social care case management system",
        CSV,
        f"https://fhir.{slug}.example.gov.uk/Id/{ons_code}/person-id",
        expected_interval_hours=24,
    )
    return OrganisationSpec(
        code,
        name,
        Kind.COUNCIL_SOCIAL_CARE,
        address,
        date(2020, 4, 1),
        600,
        "Data protection officer",
        f"data.protection@{slug}.example.gov.uk",
        places.landline(rng),
        sources=(source,),
    )


# The listed Dorset practices (DOMAIN.md §2) and the towns their names place them in. Orchid House's name
# gives no town; the demo puts it in Poole.
LISTED_PRACTICES = (
    ("J81002", "Orchid House Surgery", "Poole"),
    ("J81003", "Winton Health Centre", "Bournemouth"),
    ("J81005", "Bridport Medical Centre", "Bridport"),
    ("J81010", "Swanage Medical Practice", "Swanage"),
    ("J81011", "Wareham Surgery", "Wareham"),
    ("J81019", "The Blandford Group Practice", "Blandford Forum"),
    ("J81028", "Highcliffe Medical Centre", "Christchurch"),
    ("J81056", "Christchurch Medical Practice", "Christchurch"),
    ("J81081", "Gillingham Medical Practice", "Gillingham"),
    ("J81082", "Poundbury Doctors Surgery", "Dorchester"),
    ("J81626", "Fordington Surgery", "Dorchester"),
)

# Neighbourhoods that name practices in the bigger towns; smaller towns use the town's own name.
NEIGHBOURHOODS = {
    "Bournemouth": (
        "Boscombe",
        "Southbourne",
        "Westbourne",
        "Charminster",
        "Kinson",
        "Moordown",
        "Pokesdown",
        "Throop",
        "Tuckton",
        "Springbourne",
        "Queens Park",
        "Muscliff",
        "Talbot Woods",
        "Wallisdown",
        "Ensbury Park",
        "Strouden Park",
        "Littledown",
        "East Cliff",
    ),
    "Poole": (
        "Parkstone",
        "Broadstone",
        "Canford Heath",
        "Oakdale",
        "Hamworthy",
        "Creekmoor",
        "Branksome",
        "Lilliput",
        "Penn Hill",
        "Longfleet",
        "Alderney",
        "Bearwood",
        "Newtown",
        "Sandbanks",
    ),
    "Weymouth": (
        "Wyke Regis",
        "Preston",
        "Littlemoor",
        "Westham",
        "Radipole",
        "Rodwell",
        "Chickerell",
        "Upwey",
    ),
    "Dorchester": ("Puddletown", "Crossways", "Broadmayne", "Charminster Road", "Maiden Castle"),
    "Christchurch": ("Mudeford", "Burton", "Somerford", "Purewell", "Stanpit"),
    "Portland": ("Easton", "Fortuneswell"),
}
PRACTICE_SUFFIXES = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice", "Group Practice")


def _practice(ods: str, name: str, town_name: str) -> OrganisationSpec:
    rng = random.Random(f"organisation:{ods}")
    town = TOWN_BY_NAME[town_name]
    source = SourceSpec(
        f"{ods.lower()}-gp",
        "GP clinical system",
        FHIR,
        f"https://fhir.example.nhs.uk/Id/{ods}/patient-id",
        expected_interval_hours=24,
    )
    return OrganisationSpec(
        ods,
        name,
        Kind.GP_PRACTICE,
        places.street_address(rng, town),
        date(2019 + rng.randrange(5), rng.choice((1, 4, 7, 10)), 1),
        rng.randrange(25, 80),
        "Practice manager",
        f"practice.manager@{ods.lower()}.example.nhs.uk",
        places.landline(rng),
        sources=(source,),
        clinicians=_gps(ods, rng.randint(3, 9)),
        list_weight=rng.randint(4, 16),
    )


def _generated_practices() -> list[OrganisationSpec]:
    rng = random.Random("practices")
    listed_codes = {code for code, _, _ in LISTED_PRACTICES}
    listed_towns = [town for _, _, town in LISTED_PRACTICES]
    codes = [f"J81{n:03d}" for n in range(100, 700) if f"J81{n:03d}" not in listed_codes]
    rng.shuffle(codes)
    names = {name for _, name, _ in LISTED_PRACTICES}
    specs = []
    for town in TOWNS:
        areas = list(NEIGHBOURHOODS.get(town.name, ())) or [town.name]
        for n in range(town.practices - listed_towns.count(town.name)):
            area = areas[n % len(areas)]
            name = f"{area} {rng.choice(PRACTICE_SUFFIXES)}"
            while name in names:
                name = (
                    f"{area} {rng.choice(PRACTICE_SUFFIXES)}"
                    if rng.random() < 0.7
                    else f"{rng.choice(places.STREETS)} Surgery, {town.name}"
                )
            names.add(name)
            specs.append(_practice(codes.pop(), name, town.name))
    return specs


@cache
def organisation_specs() -> tuple[OrganisationSpec, ...]:
    """Every partner organisation of the demo, trusts first."""
    trusts = (
        _trust(
            "RBD",
            "Dorset County Hospital NHS Foundation Trust",
            Kind.ACUTE_TRUST,
            Address("Williams Avenue", "Dorchester", "DT1 2JY"),
            date(2019, 4, 1),
            3000,
            _hospital_sources("RBD"),
        ),
        _trust(
            "R0D",
            "University Hospitals Dorset NHS Foundation Trust",
            Kind.ACUTE_TRUST,
            Address("Royal Bournemouth Hospital\nCastle Lane East", "Bournemouth", "BH7 7DW"),
            date(2020, 10, 1),
            5000,
            _hospital_sources("R0D"),
        ),
        _trust(
            "RDY",
            "Dorset HealthCare University NHS Foundation Trust",
            Kind.COMMUNITY_AND_MENTAL_HEALTH_TRUST,
            Address("Sentinel House\n4-6 Nuffield Road", "Poole", "BH17 0RB"),
            date(2019, 4, 1),
            2500,
            (
                SourceSpec(
                    "rdy-ehr",
                    "Community and mental health record",
                    FHIR,
                    "https://fhir.rdy.example.nhs.uk/Id/patient-id",
                ),
            ),
        ),
        _trust(
            "RYF",
            "South Western Ambulance Service NHS Foundation Trust",
            Kind.AMBULANCE_SERVICE,
            Address("Abbey Court\nEagle Way", "Exeter", "EX2 7HY"),
            date(2021, 1, 1),
            1200,
            (
                SourceSpec(
                    "ryf-epcr",
                    "Electronic patient care record",
                    FHIR,
                    "https://fhir.ryf.example.nhs.uk/Id/incident-patient-id",
                ),
            ),
        ),
        _trust(
            "RNZ",
            "Salisbury NHS Foundation Trust",
            Kind.OUT_OF_AREA_HOSPITAL,
            Address("Salisbury District Hospital\nOdstock Road", "Salisbury", "SP2 8BJ"),
            date(2022, 4, 1),
            400,
            _hospital_sources("RNZ"),
        ),
        _trust(
            "RHM",
            "University Hospital Southampton NHS Foundation Trust",
            Kind.OUT_OF_AREA_HOSPITAL,
            Address("Southampton General Hospital\nTremona Road", "Southampton", "SO16 6YD"),
            date(2022, 4, 1),
            300,
            _hospital_sources("RHM", full=False),
        ),
    )
    councils = (
        # ONS E06000059; no verified ODS code.
        _council(
            DORSET_COUNCIL,
            "Dorset Council",
            "E06000059",
            Address("County Hall\nColliton Park", "Dorchester", "DT1 1XJ"),
            "dorsetcouncil",
        ),
        # ONS E06000058; no verified ODS code.
        _council(
            BCP_COUNCIL,
            "Bournemouth, Christchurch and Poole Council",
            "E06000058",
            Address("Civic Centre\nBourne Avenue", "Bournemouth", "BH2 6DY"),
            "bcpcouncil",
        ),
    )
    listed = tuple(_practice(code, name, town) for code, name, town in LISTED_PRACTICES)
    return trusts + councils + listed + tuple(_generated_practices())


@cache
def organisation_by_code() -> dict[str, OrganisationSpec]:
    return {spec.ods_code: spec for spec in organisation_specs()}


@cache
def practices() -> tuple[OrganisationSpec, ...]:
    return tuple(spec for spec in organisation_specs() if spec.kind == Kind.GP_PRACTICE)


@cache
def _practice_cumulative_weights() -> list[float]:
    # A town's share of the population, split between its practices by list size.
    town_lists: dict[str, int] = {}
    for practice in practices():
        town_lists[practice.town] = town_lists.get(practice.town, 0) + practice.list_weight
    total, cumulative = 0.0, []
    for practice in practices():
        total += TOWN_BY_NAME[practice.town].weight * practice.list_weight / town_lists[practice.town]
        cumulative.append(total)
    return cumulative


def practice_choose(rng: random.Random) -> OrganisationSpec:
    """A registered practice, in proportion to its list size."""
    return rng.choices(practices(), cum_weights=_practice_cumulative_weights())[0]
