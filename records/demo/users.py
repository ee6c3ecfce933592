"""One demo user for each role of the catalogue, each a member of a fitting organisation.

Demo only: every demo user has the same published password, reset by every run of seed_demo so that the
printed credentials always work. Never run seed_demo against a live system.
"""

from __future__ import annotations

from dataclasses import dataclass

from records.demo.places import DORSET_COUNCIL

DEMO_PASSWORD = "Wessex-demo-record-2026"  # noqa: S105 - published on purpose: it is the demo's password
DEMO_EMAIL_DOMAIN = "demo.dcr.local"
DEMO_PRACTICE = "J81082"  # Poundbury Doctors Surgery, Dorchester
DEMO_HOSPITAL = "RBD"


@dataclass(frozen=True)
class DemoUser:
    role: str  # code in records.roles.ROLE_CATALOGUE
    first_name: str
    last_name: str
    organisation: str  # ODS (or local) code
    team: str = ""
    is_staff: bool = False
    is_superuser: bool = False
    smartcard: bool = True  # NHS staff have an SDS user id; council staff do not

    @property
    def email(self) -> str:
        return f"{self.role}@{DEMO_EMAIL_DOMAIN}"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("gp", "Helen", "Carter", DEMO_PRACTICE),
    DemoUser("practice-nurse", "Rachel", "Moore", DEMO_PRACTICE),
    DemoUser("practice-administrator", "Karen", "Ellis", DEMO_PRACTICE),
    DemoUser("hospital-consultant", "James", "Whitfield", DEMO_HOSPITAL, "General Internal Medicine"),
    DemoUser("hospital-doctor", "Priya", "Sharma", DEMO_HOSPITAL, "Acute Medical Unit"),
    DemoUser("nurse", "Tom", "Bennett", DEMO_HOSPITAL, "Frailty Unit"),
    DemoUser(
        "social-worker",
        "Sam",
        "Taylor",
        DORSET_COUNCIL,
        "West Dorset adult social care locality team",
        smartcard=False,
    ),
    DemoUser(
        "mental-health-practitioner", "Chloe", "Harris", "RDY", "Dorchester community mental health team"
    ),
    DemoUser(
        "safeguarding-officer", "Mark", "Holloway", DORSET_COUNCIL, "Adult safeguarding team", smartcard=False
    ),
    DemoUser(
        "occupational-therapist",
        "Lucy",
        "Fairweather",
        DORSET_COUNCIL,
        "Occupational therapy team",
        smartcard=False,
    ),
    DemoUser("physiotherapist", "Daniel", "Okafor", DEMO_HOSPITAL, "Therapies"),
    DemoUser("radiologist", "Anna", "Lindqvist", DEMO_HOSPITAL, "Radiology"),
    DemoUser("paramedic", "Joe", "Marsh", "RYF", "Dorset emergency operations"),
    DemoUser("hospital-administrator", "Sue", "Parsons", DEMO_HOSPITAL, "Outpatient booking"),
    DemoUser("privacy-officer", "Fiona", "Grant", DEMO_HOSPITAL, "Information governance", is_staff=True),
    DemoUser(
        "system-administrator",
        "Alex",
        "Reid",
        DEMO_HOSPITAL,
        "Digital services",
        is_staff=True,
        is_superuser=True,
    ),
)
