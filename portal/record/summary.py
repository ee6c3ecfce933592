"""The summary: the current picture in one statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from portal.record.common import (
    LIST_FIELDS,
    C,
    _attach_organisations,
    _visible,
)
from records.access import Actor
from records.models import Entry, Person


@dataclass
class Summary:
    problems: list[Entry] = field(default_factory=list)
    medications: list[Entry] = field(default_factory=list)
    contacts: list[Entry] = field(default_factory=list)
    care_plans: list[Entry] = field(default_factory=list)
    upcoming: list[Entry] = field(default_factory=list)
    recent: list[Entry] = field(default_factory=list)
    results: list[Entry] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)

    @property
    def entries(self) -> list[Entry]:
        return [
            *self.problems,
            *self.medications,
            *self.contacts,
            *self.care_plans,
            *self.upcoming,
            *self.recent,
            *self.results,
        ]

    @property
    def next_review(self) -> date | None:
        due = [p.review_due_on for p in self.care_plans if p.review_due_on]
        return min(due) if due else None


SUMMARY_RECENT = 5
SUMMARY_RESULTS = 6


_NEWEST_SQL = "ORDER BY records_entry.occurred_at DESC NULLS LAST, records_entry.id DESC"
_OLDEST_SQL = "ORDER BY records_entry.occurred_at ASC NULLS FIRST, records_entry.id ASC"
# Each section of the summary: its condition (constants, or %(now)s), its order and how many.
_SUMMARY_SECTIONS = (
    ("records_entry.category = 'problem' AND records_entry.status = 'active'", _NEWEST_SQL, 50),
    ("records_entry.category = 'medication' AND records_entry.status = 'active'", _NEWEST_SQL, 50),
    ("records_entry.category = 'related_person' AND records_entry.status = 'active'", _NEWEST_SQL, 20),
    ("records_entry.category = 'care_plan' AND records_entry.status = 'active'", _NEWEST_SQL, 20),
    (
        "records_entry.category = 'appointment' AND records_entry.occurred_at >= %s"
        " AND records_entry.status IN ('booked', 'proposed', 'pending')",
        _OLDEST_SQL,
        10,
    ),
    ("records_entry.category = 'encounter' AND records_entry.occurred_at <= %s", _NEWEST_SQL, SUMMARY_RECENT),
    ("records_entry.category IN ('lab_report', 'imaging_report')", _NEWEST_SQL, SUMMARY_RESULTS),
)


def summary_get(*, actor: Actor, person: Person) -> Summary:
    """The current picture: active problems, current medicines, contacts and carers, the care package and
    its review, what is booked, the latest contacts and results. Allergies and alerts are in the banner.

    One statement: each section is a small index-ordered slice of the visible entries, joined with UNION
    ALL. The visible entries' SQL is compiled once from the access rules and reused for every slice (the
    ORM compiling seven unions cost more than running them)."""
    now = timezone.now()
    visible = _visible(actor, person).only(*LIST_FIELDS).order_by()
    base_sql, base_params = visible.query.sql_with_params()
    parts, params = [], []
    for condition, order, limit in _SUMMARY_SECTIONS:
        parts.append(f"({base_sql} AND ({condition}) {order} LIMIT {int(limit)})")
        params += [*base_params, *([now] if "%s" in condition else [])]
    entries = _attach_organisations(list(Entry.objects.raw(" UNION ALL ".join(parts), params)))
    summary = Summary(allowed=set(actor.role.categories))
    for entry in entries:
        getattr(summary, _section_of(entry, now)).append(entry)
    summary.upcoming.sort(key=lambda e: e.occurred_at)
    for name in ("problems", "medications", "contacts", "care_plans", "recent", "results"):
        getattr(summary, name).sort(key=lambda e: e.occurred_at or now, reverse=True)
    return summary


def _section_of(entry: Entry, now: datetime) -> str:
    return {
        C.PROBLEM: "problems",
        C.MEDICATION: "medications",
        C.RELATED_PERSON: "contacts",
        C.CARE_PLAN: "care_plans",
        C.APPOINTMENT: "upcoming",
        C.ENCOUNTER: "recent",
        C.LAB_REPORT: "results",
        C.IMAGING_REPORT: "results",
    }[entry.category]
