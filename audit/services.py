"""Writes to the audit trail and the privacy officer's alerts. Access events are insert-only."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.models import AccessEvent, PrivacyAlert


def session_ref(session_key: str | None) -> str:
    """The trail links a user's events by session without storing the session key itself."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32] if session_key else ""


def access_event_record(
    *,
    actor,
    action: str,
    person=None,
    person_id: int | None = None,
    outcome: str = AccessEvent.Outcome.ALLOWED,
    basis: str = "",
    basis_detail: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Write one access event. Callers show person data only after this returns (fail closed):
    if the write fails, the exception propagates and the page is not rendered."""
    membership = actor.membership
    return AccessEvent.objects.create(
        occurred_at=timezone.now(),
        user=actor.user,
        user_display=f"{actor.user} <{actor.user.email}>",
        role_code=membership.role.code if membership else "",
        role_name=membership.role.name if membership else "",
        organisation_ods=membership.organisation.ods_code if membership else "",
        organisation_name=membership.organisation.name if membership else "",
        person_id=person.pk if person is not None else person_id,
        person_nhs_number=(person.nhs_number or "") if person is not None else "",
        action=action,
        outcome=outcome,
        basis=basis or (f"context_launch:{actor.launched_by}" if actor.launched_by else ""),
        basis_detail=basis_detail,
        detail=detail or {},
        client_ip=actor.client_ip,
        session_ref=actor.session_ref,
    )


PRIVACY_OFFICER_JOB_ROLE = "R0001"


def privacy_alert_raise(
    *, kind: str, user=None, person_id: int | None = None, access_grant=None, access_event=None
) -> PrivacyAlert:
    """Open an alert for the privacy officer and email them its reference once the transaction commits."""
    from audit import tasks  # deferred: tasks imports services

    with transaction.atomic():
        alert = PrivacyAlert.objects.create(
            reference=f"pending-{uuid.uuid4().hex[:12]}",
            kind=kind,
            user=user,
            person_id=person_id,
            access_grant=access_grant,
            access_event=access_event,
        )
        alert.reference = f"PA-{alert.pk:07d}"
        alert.save(update_fields=["reference"])
    transaction.on_commit(lambda: tasks.privacy_alert_notify.delay(alert.pk))
    return alert


def privacy_officer_emails() -> list[str]:
    from records.models import Membership

    officers = Membership.objects.filter(
        is_active=True, user__is_active=True, role__job_role_code=PRIVACY_OFFICER_JOB_ROLE
    ).values_list("user__email", flat=True)
    return sorted({*settings.DCR_PRIVACY_OFFICER_EMAILS, *officers})


def privacy_alert_notify(*, alert: PrivacyAlert) -> bool:
    """Email the privacy officers. The email names the kind and the reference only: never the person,
    the user or anything clinical, because email leaves the record's protection."""
    if alert.emailed_at is not None:
        return False
    recipients = privacy_officer_emails()
    if not recipients:
        return False
    send_mail(
        subject=f"Shared care record: privacy alert {alert.reference}",
        message=(
            f"A privacy alert needs your review.\n\nReference: {alert.reference}\n"
            f"Kind: {alert.get_kind_display()}\n\n"
            "Sign in to the shared care record's administration site and open Privacy alerts to review it."
        ),
        from_email=None,
        recipient_list=recipients,
    )
    PrivacyAlert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    return True
