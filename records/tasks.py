"""Thin Celery wrappers: take IDs and plain data, call one service."""

from datetime import date, datetime

from celery import shared_task

from records import services
from records.models import SourceSystem

_DATETIME_FIELDS = ("source_updated_at", "occurred_at", "ended_at")


def draft_to_json(draft: services.EntryDraft) -> dict:
    data = dict(draft.__dict__)
    for name in _DATETIME_FIELDS:
        data[name] = data[name].isoformat() if data[name] else None
    data["review_due_on"] = draft.review_due_on.isoformat() if draft.review_due_on else None
    return data


def draft_from_json(data: dict) -> services.EntryDraft:
    data = dict(data)
    for name in _DATETIME_FIELDS:
        data[name] = datetime.fromisoformat(data[name]) if data.get(name) else None
    data["review_due_on"] = date.fromisoformat(data["review_due_on"]) if data.get("review_due_on") else None
    return services.EntryDraft(**data)


@shared_task
def record_entries_upsert(source_system_id: int, drafts: list[dict]) -> dict[str, str]:
    """Upsert entries off the request path (large uploads); returns each business key's outcome."""
    source_system = SourceSystem.objects.select_related("organisation").get(pk=source_system_id)
    outcomes = services.record_entries_upsert(
        source_system=source_system, drafts=[draft_from_json(d) for d in drafts]
    )
    return {key: str(outcome) for key, outcome in outcomes.items()}
