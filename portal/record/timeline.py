"""The unified timeline: every source, newest first, one keyset page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.utils import timezone

from portal.record.common import (
    LIST_FIELDS,
    NEWEST,
    C,
    _attach_organisations,
    _visible,
)
from records.access import Actor
from records.models import Entry, Organisation, Person

TIMELINE_PAGE = 40


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last entry shown, as (occurred_at, id); occurred_at None for undated ones."""

    occurred_at: datetime | None
    id: int

    def encode(self) -> str:
        return f"{self.occurred_at.isoformat() if self.occurred_at else 'none'}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        try:
            when, _, pk = text.rpartition("~")
            occurred = None if when == "none" else datetime.fromisoformat(when)
            if occurred is not None and occurred.tzinfo is None:
                return None
            return cls(occurred, int(pk))
        except (ValueError, TypeError):
            return None


@dataclass
class TimelinePage:
    entries: list[Entry]
    next_cursor: Cursor | None


def timeline_page(
    *,
    actor: Actor,
    person: Person,
    categories: list[str] | None = None,
    organisation_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    after: Cursor | None = None,
    size: int = TIMELINE_PAGE,
) -> TimelinePage:
    """Every source's entries, newest first, one keyset page at a time (undated entries last).

    Unless asked for by the category filter, single results are left out: each is listed under its report
    (one line for a full blood count, not seven)."""
    if not categories:
        categories = [c for c in actor.role.categories if c != C.LAB_RESULT]
    entries = _visible(actor, person, categories).only(*LIST_FIELDS)
    if organisation_id:
        entries = entries.filter(source_organisation_id=organisation_id)
    tz = timezone.get_current_timezone()
    dated = entries.filter(occurred_at__isnull=False)
    if date_from:
        dated = dated.filter(occurred_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        dated = dated.filter(
            occurred_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
        )
    rows: list[Entry] = []
    if after is None or after.occurred_at is not None:
        if after is not None:
            dated = dated.extra(
                where=["(records_entry.occurred_at, records_entry.id) < (%s, %s)"],
                params=[after.occurred_at, after.id],
            )
        rows = list(dated.order_by(*NEWEST)[: size + 1])
    # Undated entries come after every dated one, and only when no date range is asked for.
    if len(rows) <= size and not (date_from or date_to):
        undated = entries.filter(occurred_at__isnull=True)
        if after is not None and after.occurred_at is None:
            undated = undated.filter(id__lt=after.id)
        rows += list(undated.order_by("-id")[: size + 1 - len(rows)])
    more = len(rows) > size
    rows = _attach_organisations(rows[:size])
    cursor = Cursor(rows[-1].occurred_at, rows[-1].pk) if more and rows else None
    return TimelinePage(entries=rows, next_cursor=cursor)


ORGANISATIONS_CACHE_SECONDS = 300


def timeline_organisations(*, actor: Actor, person: Person) -> list[Organisation]:
    """The organisations whose entries this actor sees for this person, for the source filter.

    Finding them reads every visible entry of the record, so the answer is kept for a few minutes per
    person, organisation and role (a new source appears in the filter within that time)."""
    key = f"dcr:timeline-orgs:{person.pk}:{actor.organisation.pk}:{actor.role.pk}"
    rows = cache.get(key)
    if rows is None:
        # Evaluated here: the access rule's SQL names records_entry, so it cannot be nested as a subquery.
        ids = set(_visible(actor, person).values_list("source_organisation_id", flat=True).distinct())
        rows = list(
            Organisation.objects.filter(pk__in=ids).order_by("name").values_list("id", "name", "ods_code")
        )
        cache.set(key, rows, ORGANISATIONS_CACHE_SECONDS)
    return [Organisation(id=pk, name=name, ods_code=ods) for pk, name, ods in rows]
