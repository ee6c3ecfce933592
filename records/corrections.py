"""Correction requests: raised on an entry, sent to the source organisation's data controller, followed
to an outcome. Nothing here edits the record: a correction arrives from the source like any update."""

from __future__ import annotations

import uuid

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from records.models import CorrectionRequest, Entry, User


class CorrectionRefused(Exception):
    """A status change the workflow does not allow; the message says why."""


def correction_request_create(*, actor, entry: Entry, what_is_wrong: str) -> CorrectionRequest:
    """A professional's report from the portal."""
    return _create(
        entry=entry, reporter=actor.user, organisation=actor.organisation, what_is_wrong=what_is_wrong
    )


def correction_request_create_for_citizen(
    *, entry: Entry, by: User, what_is_wrong: str, on_behalf_of: str
) -> CorrectionRequest:
    """A citizen's request, raised by the privacy officer in Django admin."""
    if not on_behalf_of.strip():
        raise CorrectionRefused("Say who asked for the correction, and how")
    return _create(
        entry=entry, reporter=by, organisation=None, what_is_wrong=what_is_wrong, on_behalf_of=on_behalf_of
    )


@transaction.atomic
def _create(*, entry: Entry, reporter: User, organisation, what_is_wrong: str, on_behalf_of: str = ""):
    """Record the report with the entry as it stands now, and tell the source's data controller."""
    what_is_wrong = what_is_wrong.strip()
    if not what_is_wrong:
        raise CorrectionRefused("Say what is wrong")
    request = CorrectionRequest.objects.create(
        reference=f"pending-{uuid.uuid4().hex[:8]}",
        entry=entry,
        person_id=entry.person_id,
        reporter=reporter,
        reporter_organisation=organisation,
        on_behalf_of=on_behalf_of.strip(),
        organisation_id=entry.source_organisation_id,
        what_is_wrong=what_is_wrong,
        reported_resource=entry.resource,
        reported_summary=entry.summary,
        reported_category=entry.category,
        reported_source_updated_at=entry.source_updated_at,
    )
    request.reference = f"CR-{request.pk:06d}"
    request.save(update_fields=["reference"])
    transaction.on_commit(lambda: correction_request_notify(correction=request))
    return request


def correction_request_notify(*, correction: CorrectionRequest) -> bool:
    """Email the source organisation's data controller. The email carries the reference and the source's
    own key for the item (so they can find it in their system), never the person or clinical details:
    email leaves the record's protection."""
    organisation = correction.organisation
    if not organisation.data_controller_email:
        return False
    entry = correction.entry
    where = f"{entry.source_system.name}, item key {entry.business_key}" if entry else "(item since removed)"
    send_mail(
        subject=f"Shared care record: correction request {correction.reference}",
        message=(
            f"A professional using the shared care record has reported that an item your organisation "
            f"shares may be incorrect.\n\nReference: {correction.reference}\nSource system: {where}\n"
            f"Received: {correction.created_at:%d %b %Y %H:%M}\n\n"
            "The shared care record never edits your data: if it is wrong, please correct it in your own "
            "system, and the corrected version will reach the record through your usual feed. Contact the "
            "shared care record's information governance team, quoting the reference, for the details "
            "of the report or to tell them the outcome."
        ),
        from_email=None,
        recipient_list=[organisation.data_controller_email],
    )
    CorrectionRequest.objects.filter(pk=correction.pk).update(notified_at=timezone.now())
    return True


def _transition(correction: CorrectionRequest, *, allowed_from: tuple[str, ...], to: str) -> None:
    if correction.status not in allowed_from:
        raise CorrectionRefused(
            f"{correction.reference} is {correction.get_status_display().lower()}: it cannot become "
            f"{CorrectionRequest.Status(to).label.lower()}."
        )


def correction_request_mark_sent(*, correction: CorrectionRequest, by: User) -> CorrectionRequest:
    """The queue has passed it to the source organisation."""
    _transition(correction, allowed_from=(CorrectionRequest.Status.RECEIVED,), to="sent_to_source")
    correction.status = CorrectionRequest.Status.SENT_TO_SOURCE
    correction.sent_at = timezone.now()
    correction.handled_by = by
    correction.save(update_fields=["status", "sent_at", "handled_by", "updated_at"])
    return correction


def correction_request_mark_corrected(*, correction: CorrectionRequest, by: User) -> CorrectionRequest:
    """The source says it has corrected the item in its own system."""
    _transition(
        correction,
        allowed_from=(CorrectionRequest.Status.RECEIVED, CorrectionRequest.Status.SENT_TO_SOURCE),
        to="corrected_at_source",
    )
    now = timezone.now()
    correction.status = CorrectionRequest.Status.CORRECTED_AT_SOURCE
    correction.sent_at = correction.sent_at or now
    correction.resolved_at = now
    correction.handled_by = by
    correction.save(update_fields=["status", "sent_at", "resolved_at", "handled_by", "updated_at"])
    return correction


def correction_request_decline(*, correction: CorrectionRequest, by: User, reason: str) -> CorrectionRequest:
    """The source (or the queue) finds the item correct; the reason is shown to the reporter."""
    reason = reason.strip()
    if not reason:
        raise CorrectionRefused("Give the reason for declining: the reporter is shown it")
    _transition(
        correction,
        allowed_from=(CorrectionRequest.Status.RECEIVED, CorrectionRequest.Status.SENT_TO_SOURCE),
        to="declined",
    )
    correction.status = CorrectionRequest.Status.DECLINED
    correction.decline_reason = reason
    correction.resolved_at = timezone.now()
    correction.handled_by = by
    correction.save(update_fields=["status", "decline_reason", "resolved_at", "handled_by", "updated_at"])
    return correction


def correction_request_list_for_reporter(*, user: User):
    """The reporter's own requests, newest first."""
    return CorrectionRequest.objects.filter(reporter=user).select_related("organisation")


def correction_has_newer_data(correction: CorrectionRequest, entry: Entry | None) -> bool:
    """The source has sent a newer version of the entry since it was reported."""
    return entry is not None and entry.source_updated_at > correction.reported_source_updated_at
