"""What every record page shares: the visible entries, index-matched orderings, organisation names."""

from __future__ import annotations

import time as time_module

from django.db.models import F, QuerySet

from records.access import Actor, entry_list_visible_to
from records.models import Entry, EntryCategory, Organisation, Person, PersonAddress

C = EntryCategory
# The timeline and the lists never need the resource JSON: leaving it out keeps each row small.
LIST_FIELDS = (
    "id",
    "person_id",
    "category",
    "subtype",
    "summary",
    "occurred_at",
    "ended_at",
    "review_due_on",
    "code",
    "code_display",
    "status",
    "sensitivity",
    "source_organisation_id",
    "source_updated_at",
)
# Orderings written exactly as the entry indexes are (occurred_at DESC NULLS LAST, id DESC), so that
# PostgreSQL walks the index and stops at the limit instead of sorting a long record.
NEWEST = (F("occurred_at").desc(nulls_last=True), F("id").desc())
OLDEST = (F("occurred_at").asc(nulls_first=True), F("id").asc())


def _visible(actor: Actor, person: Person, categories=None) -> QuerySet[Entry]:
    return entry_list_visible_to(actor=actor, person=person, categories=categories)


ORGANISATION_NAMES_SECONDS = 60
_organisation_memo: dict = {"at": 0.0, "table": {}}


def _organisation_table(refresh: bool = False) -> dict[int, Organisation]:
    """Every organisation's id, name and ODS code: a region has a hundred or so, they change rarely, and
    nearly every line of every page names one. Kept in the process for a minute rather than joined into
    each query."""
    now = time_module.monotonic()
    if refresh or now - _organisation_memo["at"] > ORGANISATION_NAMES_SECONDS:
        rows = Organisation.objects.values_list("id", "name", "ods_code")
        _organisation_memo["table"] = {
            pk: Organisation(id=pk, name=name, ods_code=ods) for pk, name, ods in rows
        }
        _organisation_memo["at"] = now
    return _organisation_memo["table"]


def _organisations(entries) -> dict[int, Organisation]:
    """The source organisations of these entries."""
    return _organisations_by_id({e.source_organisation_id for e in entries})


def _organisations_by_id(ids: set[int]) -> dict[int, Organisation]:
    if not ids:
        return {}
    table = _organisation_table()
    if not ids <= table.keys():  # one created within the last minute
        table = _organisation_table(refresh=True)
    return {pk: table[pk] for pk in ids}


CATEGORY_LABELS = dict(EntryCategory.choices)


def _attach_organisations(entries: list[Entry]) -> list[Entry]:
    """Each entry's source organisation and category label, for lists of many lines."""
    organisations = _organisations(entries)
    for entry in entries:
        entry.source_organisation = organisations[entry.source_organisation_id]
        entry.category_label = CATEGORY_LABELS.get(entry.category, entry.category)
    return entries


def current_postcodes_attach(people: list[Person]) -> list[Person]:
    """Each found person's current postcode, to tell apart people of the same name and birthday (never for
    a restricted person). One query for the whole list; call only with people the actor may open."""
    shown = [p.pk for p in people if not p.is_restricted]
    postcodes = dict(
        PersonAddress.objects.filter(person_id__in=shown, period_end__isnull=True)
        .order_by("person_id", "-period_start")
        .distinct("person_id")
        .values_list("person_id", "postcode")
    )
    for person in people:
        person.current_postcode = postcodes.get(person.pk, "")
    return people
