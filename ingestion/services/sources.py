"""Onboarding and watching source systems: credentials, going live, quiet feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from records.models import SourceSystem
from records.models.organisation import hash_token


def source_system_authenticate(*, token: str) -> SourceSystem | None:
    """The source system holding this bearer token, if it is current; None for unknown or revoked tokens."""
    token = token.strip()
    if not token:
        return None
    source = (
        SourceSystem.objects.select_related("organisation")
        .filter(token_hash=hash_token(token), token_revoked_at__isnull=True)
        .first()
    )
    # token_matches compares in constant time; the lookup by hash only finds the candidate.
    if source is None or not source.token_matches(token):
        return None
    return source


@transaction.atomic
def source_system_token_issue(*, source: SourceSystem) -> str:
    """A new credential replacing any previous one. Only its hash is kept: show the token once."""
    source = SourceSystem.objects.select_for_update().get(pk=source.pk)
    token = source.issue_token()
    source.save(update_fields=["token_hash", "token_issued_at", "token_revoked_at"])
    return token


@transaction.atomic
def source_system_token_revoke(*, source: SourceSystem) -> None:
    """The current token stops working at once; the sender gets 401 until a new one is issued."""
    source = SourceSystem.objects.select_for_update().get(pk=source.pk)
    if source.token_hash and source.token_revoked_at is None:
        source.revoke_token()
        source.save(update_fields=["token_revoked_at"])


@transaction.atomic
def source_system_go_live(*, source: SourceSystem) -> bool:
    """Switch a source from test to live: what it sent, and sends, becomes visible in the record.

    Returns False if it was live already.
    """
    source = SourceSystem.objects.select_for_update().get(pk=source.pk)
    if source.mode == SourceSystem.Mode.LIVE:
        return False
    source.mode = SourceSystem.Mode.LIVE
    source.save(update_fields=["mode"])
    return True


@dataclass(frozen=True)
class FeedState:
    quiet: bool
    text: str


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def source_system_feed_state(*, source: SourceSystem, now: datetime | None = None) -> FeedState:
    """Whether a live feed has been silent for longer than its expected interval."""
    now = now or timezone.now()
    if source.mode != SourceSystem.Mode.LIVE:
        return FeedState(False, "test mode: not watched")
    expected = f"expected at least every {_duration(source.expected_interval)}"
    if source.last_message_at is None:
        return FeedState(True, f"quiet: nothing received yet ({expected})")
    silent = now - source.last_message_at
    if silent > source.expected_interval:
        return FeedState(True, f"quiet: nothing for {_duration(silent)} ({expected})")
    return FeedState(False, f"last message {_duration(max(silent, timedelta()))} ago")
