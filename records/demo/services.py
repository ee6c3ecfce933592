"""Writes the demo population: organisations and source systems, people, their records, and demo users.

Everything is keyed on something stable (ODS code, source code, NHS number, business key), so running the
build again with the same seed and date changes nothing, and a larger population only adds people. Entries go
through `record_entries_upsert`, the one way entries are written.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import connections, transaction
from django.db.models import Count

from records.demo.history import person_history
from records.demo.organisations import organisation_specs
from records.demo.people import PersonSpec, person_spec
from records.demo.users import DEMO_PASSWORD, DEMO_USERS
from records.models import (
    Entry,
    LocalIdentifier,
    Membership,
    Organisation,
    Person,
    PersonAddress,
    SourceSystem,
    User,
)
from records.roles import role_catalogue_sync
from records.services import EntryDraft, person_address_set_current, record_entries_upsert


def _sync(model: type, lookup: dict[str, Any], values: dict[str, Any]) -> Any:
    """Create the row, or update only the fields that differ, so that a re-run writes nothing."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values)
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
    return obj


@transaction.atomic
def demo_organisations_sync() -> dict[str, SourceSystem]:
    """Every demo organisation with its sharing agreement, controller contact and live source systems."""
    for spec in organisation_specs():
        organisation = _sync(
            Organisation,
            {"ods_code": spec.ods_code},
            {
                "name": spec.name,
                "kind": spec.kind,
                "address": "\n".join([*spec.address.lines.splitlines(), spec.address.town]),
                "postcode": spec.address.postcode,
                "sharing_agreement_from": spec.sharing_agreement_from,
                "sharing_agreement_to": None,
                "data_controller_name": spec.data_controller_name,
                "data_controller_email": spec.data_controller_email,
                "data_controller_phone": spec.data_controller_phone,
                "licences": spec.licences,
            },
        )
        for source in spec.sources:
            _sync(
                SourceSystem,
                {"code": source.code},
                {
                    "organisation": organisation,
                    "name": source.name,
                    "kind": source.kind,
                    "mode": SourceSystem.Mode.LIVE,
                    "hl7_sending_application": source.hl7_sending_application,
                    "hl7_sending_facility": source.hl7_sending_facility,
                    "local_identifier_system": source.local_identifier_system,
                    "expected_interval": timedelta(hours=source.expected_interval_hours),
                },
            )
    return _source_systems()


def _source_systems() -> dict[str, SourceSystem]:
    codes = [source.code for spec in organisation_specs() for source in spec.sources]
    return {s.code: s for s in SourceSystem.objects.filter(code__in=codes).select_related("organisation")}


# --- people ---

# Demographic fields the demo sets, as PDS and the GP system would.
PERSON_FIELDS = (
    "nhs_number_status",
    "title",
    "given_names",
    "family_name",
    "date_of_birth",
    "gender",
    "date_of_death",
    "phone_home",
    "phone_mobile",
    "email",
    "registered_practice_id",
    "registered_gp_code",
    "registered_gp_name",
    "is_restricted",
)
# Each source's own patient number: (prefix of the source codes that hold the person, number prefix, type).
LOCAL_NUMBERS = {"pas": ("MR", 7), "ehr": ("PI", 7), "asc": ("PI", 6)}


def _person_values(spec: PersonSpec, practice_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "nhs_number_status": Person.NhsNumberStatus.VERIFIED,
        "title": spec.title,
        "given_names": spec.given_names,
        "family_name": spec.family_name,
        "date_of_birth": spec.date_of_birth,
        "gender": spec.gender,
        "date_of_death": spec.date_of_death,
        "phone_home": spec.phone_home,
        "phone_mobile": spec.phone_mobile,
        "email": spec.email,
        "registered_practice_id": practice_ids[spec.practice.ods_code],
        "registered_gp_code": spec.gp.code,
        "registered_gp_name": spec.gp.name,
        "is_restricted": spec.is_restricted,
    }


def local_identifiers_for(spec: PersonSpec, source_codes: Iterable[str]) -> list[tuple[str, str, str]]:
    """(source code, value, HL7 type) for each system that knows the person: hospital numbers, council ids."""
    found = []
    for code in sorted(set(source_codes)):
        suffix = code.rsplit("-", 1)[-1]
        if suffix in LOCAL_NUMBERS:
            type_code, digits = LOCAL_NUMBERS[suffix]
            prefix = code.split("-", 1)[0][:3].upper()
            found.append((code, f"{prefix}{spec.index + 1:0{digits}d}", type_code))
    return found


def demo_people_write(
    *,
    specs: list[PersonSpec],
    local_ids: dict[int, list[tuple[str, str, str]]],
    sources: dict[str, SourceSystem],
    practice_ids: dict[str, int],
    stamp: datetime,
) -> tuple[dict[int, int], int, int]:
    """Insert the people not yet there and bring changed ones up to date.

    Returns ({index: id}, created, updated).

    Existing people are found by NHS number. Provenance names each person's GP system, as if the practice
    had sent them.
    """
    by_number = {spec.nhs_number: spec for spec in specs}
    existing = {
        row["nhs_number"]: row
        for row in Person.objects.filter(nhs_number__in=list(by_number)).values(
            "id", "nhs_number", *PERSON_FIELDS
        )
    }
    at = stamp.astimezone(UTC).isoformat()
    created: list[Person] = []
    changed: list[Person] = []
    changed_fields: set[str] = set()
    for number, spec in by_number.items():
        values = _person_values(spec, practice_ids)
        source_id = sources[spec.practice.source("gp")].pk
        row = existing.get(number)
        if row is None:
            provenance = {name: {"source": source_id, "at": at} for name in ("nhs_number", *values)}
            created.append(Person(nhs_number=number, field_provenance=provenance, **values))
            continue
        differs = [name for name, value in values.items() if row[name] != value]
        if differs:
            person = Person(pk=row["id"], nhs_number=number, **values)
            changed.append(person)
            changed_fields.update(differs)
    Person.objects.bulk_create(created)
    if changed:
        Person.objects.bulk_update(changed, sorted(changed_fields))
    ids = {number: row["id"] for number, row in existing.items()} | {p.nhs_number: p.pk for p in created}
    index_ids = {spec.index: ids[spec.nhs_number] for spec in specs}
    new_ids = {p.pk for p in created}
    PersonAddress.objects.bulk_create(
        PersonAddress(
            person_id=index_ids[spec.index],
            lines=spec.address.lines,
            town=spec.address.town,
            county="Dorset",
            postcode=spec.address.postcode,
            period_start=spec.address_since,
            source_system=sources[spec.practice.source("gp")],
        )
        for spec in specs
        if index_ids[spec.index] in new_ids
    )
    if existing:
        current = {
            person_id: (lines, town, postcode)
            for person_id, lines, town, postcode in PersonAddress.objects.filter(
                person_id__in=[row["id"] for row in existing.values()],
                use=PersonAddress.Use.HOME,
                period_end__isnull=True,
            ).values_list("person_id", "lines", "town", "postcode")
        }
        for spec in specs:
            person_id = index_ids[spec.index]
            address = spec.address
            if person_id not in new_ids and current.get(person_id) != (
                address.lines,
                address.town,
                address.postcode,
            ):
                person_address_set_current(
                    person=Person(pk=person_id),
                    source_system=sources[spec.practice.source("gp")],
                    lines=address.lines,
                    town=address.town,
                    county="Dorset",
                    postcode=address.postcode,
                    since=spec.address_since,
                )
    LocalIdentifier.objects.bulk_create(
        (
            LocalIdentifier(
                person_id=index_ids[index],
                system=sources[code].local_identifier_system,
                value=value,
                type_code=type_code,
                source_system=sources[code],
            )
            for index, found in local_ids.items()
            for code, value, type_code in found
        ),
        ignore_conflicts=True,
    )
    return index_ids, len(created), len(changed)


# --- the build ---


@dataclass
class BuildTotals:
    people_created: int = 0
    people_updated: int = 0
    entries: Counter = field(default_factory=Counter)  # by UpsertOutcome

    def add(self, other: BuildTotals) -> None:
        self.people_created += other.people_created
        self.people_updated += other.people_updated
        self.entries.update(other.entries)


def demo_batch_build(
    *,
    seed: int,
    first: int,
    stop: int,
    as_of: date,
    sources: dict[str, SourceSystem],
    practice_ids: dict[str, int],
) -> BuildTotals:
    """People first..stop-1 and their records, in one transaction."""
    specs = [person_spec(seed=seed, index=index, as_of=as_of) for index in range(first, stop)]
    # The histories are hundreds of thousands of small acyclic dicts: the cycle collector would only rescan
    # them, again and again, while they are built (a third of the time).
    gc.disable()
    try:
        histories = [person_history(seed=seed, person=spec) for spec in specs]
    finally:
        gc.enable()
    local_ids = {
        spec.index: local_identifiers_for(spec, (source for source, _ in history))
        for spec, history in zip(specs, histories, strict=True)
    }
    stamp = datetime.combine(as_of, time(0), tzinfo=UTC)
    totals = BuildTotals()
    with transaction.atomic():
        ids, totals.people_created, totals.people_updated = demo_people_write(
            specs=specs, local_ids=local_ids, sources=sources, practice_ids=practice_ids, stamp=stamp
        )
        by_source: dict[str, list[EntryDraft]] = defaultdict(list)
        for spec, history in zip(specs, histories, strict=True):
            person_id = ids[spec.index]
            for source, draft in history:
                draft.person_id = person_id
                by_source[source].append(draft)
        for code, drafts in by_source.items():
            outcomes = record_entries_upsert(source_system=sources[code], drafts=drafts)
            totals.entries.update(outcomes.values())
    return totals


def _practice_ids() -> dict[str, int]:
    return dict(Organisation.objects.filter(kind=Organisation.Kind.GP_PRACTICE).values_list("ods_code", "pk"))


_worker_state: dict[str, Any] = {}


def _worker_start() -> None:
    # Each process needs its own database connection: never share the parent's socket.
    connections.close_all()


def _worker_batch(job: tuple[int, int, int, date]) -> tuple[int, BuildTotals]:
    seed, first, stop, as_of = job
    if not _worker_state:
        _worker_state["sources"] = _source_systems()
        _worker_state["practice_ids"] = _practice_ids()
    totals = demo_batch_build(
        seed=seed,
        first=first,
        stop=stop,
        as_of=as_of,
        sources=_worker_state["sources"],
        practice_ids=_worker_state["practice_ids"],
    )
    return stop - first, totals


def demo_population_build(
    *,
    people: int,
    seed: int,
    as_of: date,
    batch_size: int = 500,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> BuildTotals:
    """Organisations, then people 0..people-1 with their records, in batches (one transaction each).

    With workers > 1 the batches run in that many processes, each with its own connection; their people and
    keys never overlap, so they do not wait on each other. Tests use one worker: the build then runs inside
    the caller's transaction.
    """
    sources = demo_organisations_sync()
    practice_ids = _practice_ids()
    jobs = [(seed, first, min(first + batch_size, people), as_of) for first in range(0, people, batch_size)]
    totals = BuildTotals()
    if workers <= 1 or len(jobs) <= 1:
        for _, first, stop, _ in jobs:
            totals.add(
                demo_batch_build(
                    seed=seed, first=first, stop=stop, as_of=as_of, sources=sources, practice_ids=practice_ids
                )
            )
            if progress:
                progress(stop - first)
        return totals
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start) as pool:
        for done, batch_totals in pool.imap_unordered(_worker_batch, jobs):
            totals.add(batch_totals)
            if progress:
                progress(done)
    return totals


def demo_population_counts() -> tuple[int, dict[str, int], int]:
    """(people, entries by category, organisations) as stored now."""
    by_category = dict(
        Entry.objects.values_list("category").annotate(n=Count("id")).values_list("category", "n")
    )
    return Person.objects.count(), by_category, Organisation.objects.count()


# --- demo users ---


@dataclass(frozen=True)
class DemoUserRow:
    email: str
    password: str
    role: str
    organisation: str
    team: str


@transaction.atomic
def demo_users_sync() -> list[DemoUserRow]:
    """One user per catalogue role, with a membership at a fitting organisation and the demo password.

    The password is set whenever it does not already match, so the printed credentials always work; one
    hash serves every demo user, so a re-run costs one hash check instead of one per user.
    """
    roles = role_catalogue_sync()
    organisations = {
        o.ods_code: o
        for o in Organisation.objects.filter(ods_code__in={spec.organisation for spec in DEMO_USERS})
    }
    checked: dict[str, bool] = {}
    new_hash = ""
    rows = []
    for number, spec in enumerate(DEMO_USERS, start=1):
        user = User.objects.filter(email=spec.email).first() or User(email=spec.email)
        values = {
            "username": spec.email,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_active": True,
            "is_staff": spec.is_staff,
            "is_superuser": spec.is_superuser,
            "sds_user_id": f"5550{number:08d}" if spec.smartcard else "",
        }
        changed = [name for name, value in values.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, values[name])
        validate_password(DEMO_PASSWORD, user)
        if user.password not in checked:
            checked[user.password] = bool(user.password) and check_password(DEMO_PASSWORD, user.password)
        if not checked[user.password]:
            new_hash = new_hash or make_password(DEMO_PASSWORD)
            user.password = new_hash
            changed.append("password")
        if user.pk is None:
            user.save()
        elif changed:
            user.save(update_fields=changed)
        organisation, role = organisations[spec.organisation], roles[spec.role]
        _sync(
            Membership,
            {"user": user, "organisation": organisation, "role": role},
            {"team": spec.team, "is_active": True},
        )
        rows.append(DemoUserRow(spec.email, DEMO_PASSWORD, role.name, organisation.name, spec.team))
    return rows
