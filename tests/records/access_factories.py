"""Building blocks for access-rule tests: an actor in a role at an organisation, and a person's entries."""

from datetime import timedelta

from django.utils import timezone

from records.access import Actor
from records.models import EntryCategory, Organisation, Sensitivity, SourceSystem
from records.roles import ROLE_CATALOGUE
from tests.records.factories import (
    EntryFactory,
    GpPracticeFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    RoleFactory,
    SourceSystemFactory,
)

CLINICAL = [c.value for c in EntryCategory]
ADMIN = [EntryCategory.APPOINTMENT.value, EntryCategory.ENCOUNTER.value]


def role(code: str = "consultant", categories=None, **flags):
    catalogued = {spec.code: spec.name for spec in ROLE_CATALOGUE}
    defaults = {
        # As the portal shows it: "GP", "Hospital consultant", not a title-cased code.
        "name": catalogued.get(code) or code.replace("-", " ").capitalize(),
        "categories": CLINICAL if categories is None else categories,
        "may_break_glass": True,
        "is_clinical": True,
    }
    return RoleFactory(code=code, **{**defaults, **flags})


def actor_at(organisation: Organisation | None = None, *, role_=None, team: str = "") -> Actor:
    membership = MembershipFactory(
        organisation=organisation or OrganisationFactory(), role=role_ or role(), team=team
    )
    return Actor(user=membership.user, membership=membership, client_ip="127.0.0.1", session_ref="s1")


def entry(
    person, organisation=None, *, category=EntryCategory.PROBLEM, days_ago: int = 10, source=None, **fields
):
    source = source or SourceSystemFactory(organisation=organisation or OrganisationFactory())
    return EntryFactory(
        person=person,
        source_system=source,
        source_organisation=source.organisation,
        category=category,
        occurred_at=timezone.now() - timedelta(days=days_ago),
        **fields,
    )


__all__ = [
    "ADMIN",
    "CLINICAL",
    "EntryCategory",
    "GpPracticeFactory",
    "PersonFactory",
    "Sensitivity",
    "SourceSystem",
    "actor_at",
    "entry",
    "role",
]
