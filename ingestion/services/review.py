"""What integration engineers do with held and failed messages in Django admin; every action is recorded."""

from __future__ import annotations

import base64

from django.db import transaction

from ingestion.models import InboundMessage, IngestionAction
from ingestion.services import apply
from records.models import Person

Status = InboundMessage.Status
REPROCESSABLE = (Status.FAILED, Status.HELD, Status.APPLIED, Status.DROPPED, Status.RECEIVED)


class ReviewError(ValueError):
    pass


def _requeue(message: InboundMessage, **extra) -> None:
    fields = {"status": Status.RECEIVED, "attempts": 0, "error": "", "error_location": "", **extra}
    InboundMessage.objects.filter(pk=message.pk).update(**fields)


def message_reprocess(
    *,
    message: InboundMessage,
    user=None,
    reason: str = "",
    action: str = IngestionAction.Action.REPROCESS,
    detail: dict | None = None,
    now: bool = True,
) -> InboundMessage:
    """Process the message again from its stored bytes (after a fix to the mapping, the source's set-up
    or the record). Re-applying what is already stored changes nothing: entries keep the newer version."""
    if message.status not in REPROCESSABLE:
        raise ReviewError(f"a {message.get_status_display().lower()} message is not reprocessed")
    with transaction.atomic():
        _requeue(message)
        IngestionAction.objects.create(
            message=message, action=action, user=_user(user), reason=reason, detail=detail or {}
        )
    if now:
        return apply.message_process(message.pk)
    message.refresh_from_db()
    return message


def message_resolve_match(
    *,
    message: InboundMessage,
    user=None,
    person: Person | None = None,
    create: bool = False,
    reason: str = "",
) -> InboundMessage:
    """A matching reviewer's decision on a held message: file it under this person, or create a new one."""
    if message.status != Status.HELD:
        raise ReviewError("only held messages wait for a matching decision")
    if (person is None) == (not create):
        raise ReviewError("choose a person, or choose to create a new one")
    resolution = InboundMessage.Resolution.NEW_PERSON if create else InboundMessage.Resolution.USE_PERSON
    InboundMessage.objects.filter(pk=message.pk).update(resolution=resolution, resolution_person=person)
    return message_reprocess(
        message=message,
        user=user,
        reason=reason,
        action=IngestionAction.Action.RESOLVE_MATCH,
        detail={"resolution": resolution, "person": person.pk if person else None},
    )


@transaction.atomic
def message_discard(*, message: InboundMessage, user=None, reason: str) -> InboundMessage:
    """Set a message aside for good, with the reason. Its bytes are kept; its control id may be resent."""
    if not reason.strip():
        raise ReviewError("say why the message is discarded")
    if message.status in (Status.PROCESSING, Status.DISCARDED):
        raise ReviewError(f"a {message.get_status_display().lower()} message cannot be discarded")
    previous = message.status
    InboundMessage.objects.filter(pk=message.pk).update(status=Status.DISCARDED, error=f"Discarded: {reason}")
    IngestionAction.objects.create(
        message=message,
        action=IngestionAction.Action.DISCARD,
        user=_user(user),
        reason=reason,
        detail={"previous_status": previous},
    )
    message.refresh_from_db()
    return message


def message_edit_reprocess(
    *, message: InboundMessage, payload: bytes, user=None, reason: str = ""
) -> InboundMessage:
    """Correct a message's bytes and process it again. The bytes as received are kept on the action."""
    if message.status not in (Status.FAILED, Status.HELD):
        raise ReviewError("only failed or held messages are edited")
    if not reason.strip():
        raise ReviewError("say what was corrected and why")
    original = bytes(message.payload)
    with transaction.atomic():
        InboundMessage.objects.filter(pk=message.pk).update(payload=payload)
        detail = {"previous_payload_base64": base64.b64encode(original).decode("ascii")}
    return message_reprocess(
        message=message,
        user=user,
        reason=reason,
        action=IngestionAction.Action.EDIT_REPROCESS,
        detail=detail,
    )


def messages_requeue(*, queryset, user=None, reason: str = "") -> int:
    """Put failed (or held) messages back on the queue for the workers; each is recorded."""
    ids = list(queryset.filter(status__in=(Status.FAILED, Status.HELD)).values_list("id", flat=True))
    with transaction.atomic():
        InboundMessage.objects.filter(id__in=ids).update(
            status=Status.RECEIVED, attempts=0, error="", error_location=""
        )
        IngestionAction.objects.bulk_create(
            IngestionAction(
                message_id=pk, action=IngestionAction.Action.REQUEUE, user=_user(user), reason=reason
            )
            for pk in ids
        )
    return len(ids)


def _user(user):
    return user if user is not None and getattr(user, "pk", None) else None
