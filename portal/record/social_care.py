"""Social care: care and support plans, carers and providers, assessments and reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from portal.record.common import (
    NEWEST,
    C,
    _attach_organisations,
    _visible,
)
from records.access import Actor
from records.models import Entry, Organisation, Person


@dataclass
class SocialCare:
    plans: list[Entry]
    contacts: list[Entry]
    assessments: list[Entry]
    alerts: list[Entry]

    @property
    def entries(self) -> list[Entry]:
        return [*self.plans, *self.contacts, *self.assessments, *self.alerts]


def social_care_get(*, actor: Actor, person: Person) -> SocialCare:
    """Care and support plans (package, provider, allocated worker, reviews), carers and care providers,
    assessments and reviews, and the council's alerts."""
    visible = _visible(actor, person, [C.CARE_PLAN, C.RELATED_PERSON, C.ENCOUNTER, C.ALERT])
    rows = list(
        visible.filter(
            Q(category=C.CARE_PLAN)
            | Q(category=C.RELATED_PERSON, subtype__in=("carer", "care-provider"))
            | Q(category=C.ENCOUNTER, subtype__in=("assessment", "review"))
            | Q(category=C.ALERT, source_organisation__kind=Organisation.Kind.COUNCIL_SOCIAL_CARE)
        ).order_by(*NEWEST)[:200]
    )
    _attach_organisations(rows)
    plans = [e for e in rows if e.category == C.CARE_PLAN]
    plans.sort(key=lambda e: (e.status != "active", -(e.occurred_at.timestamp() if e.occurred_at else 0)))
    return SocialCare(
        plans=plans,
        contacts=[e for e in rows if e.category == C.RELATED_PERSON],
        assessments=[e for e in rows if e.category == C.ENCOUNTER],
        alerts=[e for e in rows if e.category == C.ALERT],
    )


def care_plan_details(entry: Entry) -> dict:
    """A CarePlan as a social worker reads it."""
    resource = entry.resource
    activities = []
    for activity in resource.get("activity") or []:
        detail = activity.get("detail") or {}
        period = detail.get("scheduledPeriod") or {}
        activities.append(
            {
                "what": (detail.get("code") or {}).get("text", ""),
                "status": detail.get("status", ""),
                "start": _date(period.get("start")),
                "end": _date(period.get("end")),
                "by": ", ".join(p.get("display", "") for p in detail.get("performer") or []),
                "description": detail.get("description", ""),
            }
        )
    period = resource.get("period") or {}
    return {
        "title": resource.get("title") or entry.summary,
        "description": resource.get("description", ""),
        "categories": [c.get("text") or "" for c in resource.get("category") or []],
        "author": (resource.get("author") or {}).get("display", ""),
        "team": ", ".join(c.get("display", "") for c in resource.get("contributor") or []),
        "start": _date(period.get("start")),
        "end": _date(period.get("end")),
        "activities": activities,
        "notes": [n.get("text", "") for n in resource.get("note") or []],
    }


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
