"""The banner on every person page: who this is and what must not be missed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from portal.record.common import (
    LIST_FIELDS,
    NEWEST,
    C,
    _organisations_by_id,
    _visible,
)
from records.access import Actor, Basis, restricted_information_exists
from records.models import AccessGrant, Entry, Organisation, Person, PersonAddress


@dataclass
class Banner:
    person: Person
    address: PersonAddress | None
    practice: Organisation | None
    allergies: list[Entry]
    alerts: list[Entry]
    restricted: bool
    break_glass_until: datetime | None
    basis: Basis
    age: int | None

    @property
    def entry_ids(self) -> list[int]:
        return [e.pk for e in (*self.allergies, *self.alerts)]

    @property
    def categories(self) -> set[str]:
        return {e.category for e in (*self.allergies, *self.alerts)}

    @property
    def no_known_allergies(self) -> bool:
        return bool(self.allergies) and all(e.subtype == "none-known" for e in self.allergies)

    @property
    def real_allergies(self) -> list[Entry]:
        return [e for e in self.allergies if e.subtype != "none-known"]


def banner_get(*, actor: Actor, person: Person, basis: Basis) -> Banner:
    """Who this is and what must not be missed: allergies, alerts, death, restricted information,
    emergency access in force. A restricted (S-flagged) person's address and GP are never shown."""
    address = practice = None
    if not person.is_restricted:
        address = (
            PersonAddress.objects.filter(person=person, period_end__isnull=True)
            .order_by("-period_start", "-pk")
            .first()
        )
        if person.registered_practice_id:
            practice = _organisations_by_id({person.registered_practice_id})[person.registered_practice_id]
    warnings = list(
        _visible(actor, person, [C.ALLERGY, C.ALERT])
        .filter(status__in=("active", ""))
        .only(*LIST_FIELDS)
        .order_by("category", *NEWEST)
    )
    break_glass_until = None
    if basis == Basis.BREAK_GLASS:
        break_glass_until = (
            AccessGrant.objects.filter(
                person=person,
                user=actor.user,
                basis=AccessGrant.Basis.BREAK_GLASS,
                expires_at__gt=timezone.now(),
            )
            .aggregate(until=Max("expires_at"))
            .get("until")
        )
    return Banner(
        person=person,
        address=address,
        practice=practice,
        allergies=[e for e in warnings if e.category == C.ALLERGY],
        alerts=[e for e in warnings if e.category == C.ALERT],
        restricted=restricted_information_exists(actor=actor, person=person),
        break_glass_until=break_glass_until,
        basis=basis,
        age=person.age_on(),
    )
