"""Reads of opt-outs and proxies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import IntegerField, Q

from consent.models import OptOut
from records import nhs_numbers as nhs
from records.models import Person, PersonAddress


def nhs_numbers_opted_out(nhs_numbers: Iterable[str]) -> set[str]:
    """The NHS numbers among those given that have an opt-out in force (approved, not withdrawn).

    One query on the partial unique index of opt-outs in force. Numbers may carry spaces; the set holds
    them as given, so callers can test membership with what they passed in.
    """
    given = {number: nhs.normalise(number) for number in nhs_numbers if number}
    wanted = {digits for digits in given.values() if len(digits) == 10}
    if not wanted:
        return set()
    held = set(
        OptOut.objects.in_force()
        .filter(nhs_number__in=wanted)
        .order_by()
        .values_list("nhs_number", flat=True)
    )
    return {number for number, digits in given.items() if digits in held}


def opt_out_in_force_for(nhs_number: str) -> bool:
    """Whether data about this NHS number must be dropped."""
    return bool(nhs_numbers_opted_out([nhs_number]))


# Matching a request against the record, for the privacy officer's judgement.

MATCH, NEAR, MISMATCH, NOT_GIVEN = "match", "near", "mismatch", "not given"


@dataclass(frozen=True)
class FieldCheck:
    field: str
    given: str
    held: str
    verdict: str


@dataclass(frozen=True)
class Candidate:
    person: Person
    checks: tuple[FieldCheck, ...]

    @property
    def score(self) -> int:
        return sum({MATCH: 2, NEAR: 1}.get(check.verdict, 0) for check in self.checks)

    @property
    def is_exact(self) -> bool:
        return all(check.verdict in (MATCH, NOT_GIVEN) for check in self.checks)


def _one_edit_apart(a: str, b: str) -> bool:
    """One character changed, or two neighbours swapped: the commonest slips in copying a number."""
    if len(a) != len(b) or a == b:
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def _check_nhs_number(given: str, held: str | None) -> FieldCheck:
    held = held or ""
    if not given:
        verdict = NOT_GIVEN
    elif given == held:
        verdict = MATCH
    elif _one_edit_apart(given, held):
        verdict = NEAR
    else:
        verdict = MISMATCH
    return FieldCheck("NHS number", nhs.formatted(given), nhs.formatted(held), verdict)


def _check_date_of_birth(given: date | None, held: date | None) -> FieldCheck:
    if given is None:
        verdict = NOT_GIVEN
    elif given == held:
        verdict = MATCH
    elif held is not None and (
        (given.day, given.month) == (held.month, held.day)  # day and month swapped
        or sum((given.year != held.year, given.month != held.month, given.day != held.day)) == 1
    ):
        verdict = NEAR
    else:
        verdict = MISMATCH
    show = lambda d: d.strftime("%d/%m/%Y") if d else ""  # noqa: E731
    return FieldCheck("Date of birth", show(given), show(held), verdict)


def _squash(postcode: str) -> str:
    return postcode.replace(" ", "").upper()


def _check_postcode(given: str, person: Person) -> FieldCheck:
    addresses = list(person.addresses.all())
    current = next((a.postcode for a in addresses if a.period_end is None), "")
    previous = {_squash(a.postcode) for a in addresses if a.period_end is not None}
    if not given:
        verdict = NOT_GIVEN
    elif _squash(given) == _squash(current):
        verdict = MATCH
    elif _squash(given) in previous or _one_edit_apart(_squash(given), _squash(current)):
        verdict = NEAR  # a previous address, or one character out
    elif current and given.split()[0] == current.split()[0]:
        verdict = NEAR  # same postcode district
    else:
        verdict = MISMATCH
    return FieldCheck("Postcode", given, current, verdict)


def _check_name(opt_out: OptOut, person: Person, distance: int | None) -> FieldCheck:
    given = f"{opt_out.given_names} {opt_out.family_name}".strip()
    held = f"{person.given_names} {person.family_name}".strip()
    first = lambda names: (names.split() or [""])[0].casefold()  # noqa: E731
    if not given:
        verdict = NOT_GIVEN
    elif opt_out.family_name.casefold() == person.family_name.casefold() and first(
        opt_out.given_names
    ) == first(person.given_names):
        verdict = MATCH
    elif (
        distance is not None and distance <= 2
    ) or opt_out.family_name.casefold() == person.family_name.casefold():
        verdict = NEAR
    else:
        verdict = MISMATCH
    return FieldCheck("Name", given, held, verdict)


def opt_out_candidates(*, opt_out: OptOut, limit: int = 10) -> list[Candidate]:
    """People in the record who may be the one the request is about, best first, with each detail
    marked as matching, near (a typo, a swapped day and month, a previous address) or not.

    For the privacy officer only (Django admin): it reads the record without a care relationship."""
    from django.db.models import Exists, OuterRef, Value
    from django.db.models.functions import Lower

    from records.access import Levenshtein, Soundex

    family = opt_out.family_name.strip()
    conditions = Q(pk__in=[])
    if opt_out.nhs_number:
        conditions |= Q(nhs_number=opt_out.nhs_number)
    people = Person.objects.all()
    if family:
        people = people.annotate(
            name_distance=Levenshtein(Lower("family_name"), Value(family.lower())),
            name_sound=Soundex("family_name"),
        )
        similar = Q(name_distance__lte=2) | Q(name_sound=Soundex(Value(family)))
    else:
        people = people.annotate(name_distance=Value(None, output_field=IntegerField()))
        similar = Q(pk__in=[])
    at_postcode = (
        Exists(PersonAddress.objects.filter(person=OuterRef("pk"), postcode__iexact=opt_out.postcode))
        if opt_out.postcode
        else None
    )
    born = opt_out.date_of_birth
    if born is not None:
        conditions |= Q(date_of_birth=born) & similar
        if born.day <= 12:
            # the day and month swapped (a 12th of March written 03/12)
            conditions |= Q(date_of_birth=born.replace(day=born.month, month=born.day)) & similar
        if at_postcode is not None:
            conditions |= Q(date_of_birth=born) & Q(at_postcode)
    if at_postcode is not None:
        conditions |= Q(at_postcode) & similar
    found = people.filter(conditions).prefetch_related("addresses")[: limit * 2]
    candidates = [
        Candidate(
            person=person,
            checks=(
                _check_nhs_number(opt_out.nhs_number, person.nhs_number),
                _check_date_of_birth(opt_out.date_of_birth, person.date_of_birth),
                _check_postcode(opt_out.postcode, person),
                _check_name(opt_out, person, getattr(person, "name_distance", None)),
            ),
        )
        for person in found
    ]
    return sorted(candidates, key=lambda c: -c.score)[:limit]
