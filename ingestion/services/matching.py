"""Which Person a record is about: an NHS number with a valid check digit first, then the source's own
patient number; with neither, the record is held for review. Nothing is guessed (no matching on names or
dates of birth), and an invalid NHS number is never stored as anyone's.

Matching is set-based: one query for every NHS number of a batch, one for every local identifier, then the
records are resolved in order in memory, so two records of one batch about a new patient make one Person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from consent import selectors as consent_selectors
from ingestion.canonical import LocalId, PatientIdentity
from records import nhs_numbers
from records.models import LocalIdentifier, Person, SourceSystem


def nhs_numbers_opted_out(numbers: Iterable[str]) -> set[str]:
    """The NHS numbers among these whose opt-out is in force: their data is dropped at ingestion."""
    return consent_selectors.nhs_numbers_opted_out(numbers)


def valid_nhs_number(identity: PatientIdentity) -> str | None:
    number = nhs_numbers.normalise(identity.nhs_number)
    return number if number and nhs_numbers.is_valid(number) else None


def trusted_local_ids(source: SourceSystem, identity: PatientIdentity) -> list[LocalId]:
    """The source's own patient numbers. A source with a registered namespace vouches only for ids in it
    (PID-3 often repeats other organisations' numbers); without one, for every id it sends."""
    namespace = source.local_identifier_system
    seen: set[tuple[str, str]] = set()
    trusted = []
    for local in identity.local_ids:
        key = (local.system, local.value)
        if not local.value or not local.system or key in seen:
            continue
        if namespace and local.system != namespace:
            continue
        seen.add(key)
        trusted.append(local)
    return trusted


@dataclass
class NewPerson:
    """A person this batch creates; `person` is set once the batch has written it."""

    nhs_number: str | None
    nhs_number_status: str = ""
    person: Person | None = None


@dataclass
class Match:
    person: Person | NewPerson | None = None
    held: str = ""
    # The source's numbers to record against the person (not yet linked).
    link: list[LocalId] = field(default_factory=list)
    # An NHS number to give an existing person who had none.
    set_nhs_number: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def person_id(self) -> int | None:
        if isinstance(self.person, NewPerson):
            return self.person.person.pk if self.person.person else None
        return self.person.pk if self.person else None


class Matcher:
    """Resolves identities against the record and against the people created earlier in the same batch."""

    def __init__(self, identities: Sequence[tuple[SourceSystem, PatientIdentity]]):
        numbers = {n for _, identity in identities if (n := valid_nhs_number(identity))}
        locals_wanted = {
            (local.system, local.value)
            for source, identity in identities
            for local in trusted_local_ids(source, identity)
        }
        self.by_nhs: dict[str, Person | NewPerson] = {}
        self.by_local: dict[tuple[str, str], Person | NewPerson] = {}
        if numbers:
            for person in Person.objects.filter(nhs_number__in=numbers):
                self.by_nhs[person.nhs_number] = person
        if locals_wanted:
            condition = Q()
            for system, value in locals_wanted:
                condition |= Q(system=system, value=value)
            links = list(
                LocalIdentifier.objects.filter(condition).values_list("system", "value", "person_id")
            )
            missing = {pid for *_, pid in links} - {
                p.pk for p in self.by_nhs.values() if isinstance(p, Person)
            }
            people = {p.pk: p for p in self.by_nhs.values() if isinstance(p, Person)}
            people.update(Person.objects.in_bulk(missing))
            for system, value, pid in links:
                self.by_local[(system, value)] = people[pid]
        self.created: list[NewPerson] = []

    def _new(self, number: str | None, status: str) -> NewPerson:
        created = NewPerson(number, status)
        self.created.append(created)
        if number:
            self.by_nhs[number] = created
        return created

    def match(
        self,
        source: SourceSystem,
        identity: PatientIdentity,
        *,
        create: bool = True,
        resolution_person: Person | None = None,
        resolution_new: bool = False,
    ) -> Match:
        """The person for this identity. `create`: a new person when none is known (not for a merge's
        retired identity). A reviewer's resolution replaces what would otherwise be held."""
        result = Match()
        number = valid_nhs_number(identity)
        if identity.nhs_number and not number:
            result.warnings.append(
                f"{identity.nhs_number!r} is not a valid NHS number (length or check digit): not used"
            )
        locals_ = trusted_local_ids(source, identity)
        linked = {(i.system, i.value): self.by_local.get((i.system, i.value)) for i in locals_}
        found_by_local = {id(p): p for p in linked.values() if p is not None}
        by_nhs = self.by_nhs.get(number) if number else None

        if resolution_person is not None:
            result.person = resolution_person
            if number and not resolution_person.nhs_number and by_nhs is None:
                result.set_nhs_number = number
                self.by_nhs[number] = resolution_person
        elif by_nhs is not None:
            others = [p for p in found_by_local.values() if p is not by_nhs]
            if others:
                result.held = _conflict(identity, number, others[0])
            else:
                result.person = by_nhs
        elif number:
            if len(found_by_local) > 1:
                result.held = "the source's patient numbers are filed under different people"
            elif found_by_local:
                (holder,) = found_by_local.values()
                held_number = holder.nhs_number
                if held_number and held_number != number:
                    result.held = _conflict(identity, number, holder)
                else:
                    result.person = holder
                    if not held_number:
                        result.set_nhs_number = number
                        if isinstance(holder, Person):
                            self.by_nhs[number] = holder
            elif create:
                result.person = self._new(number, identity.nhs_number_status)
        elif found_by_local:
            if len(found_by_local) > 1:
                result.held = "the source's patient numbers are filed under different people"
            else:
                (result.person,) = found_by_local.values()
        elif locals_ and create:
            result.person = self._new(None, "")
        elif create:
            result.held = (
                "no valid NHS number and none of the source's own patient numbers"
                + (
                    f" (namespace {source.local_identifier_system!r})"
                    if source.local_identifier_system
                    else ""
                )
                + ": the patient cannot be matched"
            )

        if result.held and resolution_new:
            result.held = ""
            result.person = self._new(number if number not in self.by_nhs else None, "")
        if result.person is not None:
            for local, holder in linked.items():
                if holder is None:
                    self.by_local[local] = result.person
                    result.link.append(LocalId(*local))
        return result


def _conflict(identity: PatientIdentity, number: str | None, holder: Person | NewPerson) -> str:
    held_number = holder.nhs_number
    ids = ", ".join(f"{i.value} ({i.system})" for i in identity.local_ids)
    if held_number:
        return (
            f"NHS number {number} conflicts with the source's patient number {ids}, which is filed under "
            f"NHS number {held_number}"
        )
    return (
        f"NHS number {number} belongs to one person but the source's patient number {ids} is filed under "
        "another, who has no NHS number: merge or pick the person"
    )
