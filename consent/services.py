"""Writes for opt-outs: register, decide, erase the record, withdraw. Each decision is logged by
django-auditlog with the user who took it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from consent.models import PROXY_PERMISSION_MAX, LegalProxy, OptOut, ProxyPermission, new_reference
from records import nhs_numbers
from records.models import Person, User

# What the applicant told us; cleared once a decision makes it unnecessary (the letter keeps a copy
# until it is marked sent).
APPLICANT_FIELDS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "address",
    "postcode",
    "email",
    "phone",
    "authority_detail",
    "applicant_name",
    "applicant_address",
    "applicant_email",
    "applicant_phone",
)


@dataclass(frozen=True)
class OptOutDetails:
    """An opt-out request as the applicant gave it, on the form or to staff."""

    given_names: str
    family_name: str
    date_of_birth: date
    address: str
    postcode: str
    declaration: bool
    nhs_number: str = ""
    email: str = ""
    phone: str = ""
    on_behalf: str = OptOut.OnBehalf.SELF
    authority: str = ""
    authority_detail: str = ""
    applicant_name: str = ""
    applicant_address: str = ""
    applicant_email: str = ""
    applicant_phone: str = ""


def _normalise_postcode(value: str) -> str:
    return " ".join(value.upper().split())


def opt_out_register(
    *,
    details: OptOutDetails,
    channel: str,
    language: str = "en-gb",
    entered_by: User | None = None,
    received_at: datetime | None = None,
) -> OptOut:
    """Record an opt-out request and alert the privacy officer. Nothing here looks at the record: the
    answer to the applicant must be the same whether or not the person is known to us."""
    from audit.models import PrivacyAlert
    from audit.services import privacy_alert_raise

    if not details.declaration:
        raise ValidationError("The declaration must be confirmed.")
    number = nhs_numbers.normalise(details.nhs_number)
    if number and not nhs_numbers.is_valid(number):
        raise ValidationError(f"{details.nhs_number} is not a valid NHS number.")
    values: dict[str, Any] = {
        **{name: getattr(details, name) for name in OptOutDetails.__dataclass_fields__},
        "nhs_number": number,
        "postcode": _normalise_postcode(details.postcode),
    }
    with transaction.atomic(), set_actor(entered_by):
        for _ in range(5):
            try:
                with transaction.atomic():
                    opt_out = OptOut.objects.create(
                        reference=new_reference(),
                        channel=channel,
                        language=language,
                        received_at=received_at or timezone.now(),
                        entered_by=entered_by,
                        **values,
                    )
                break
            except IntegrityError:  # a reference collision: one in a billion, try another
                continue
        else:
            raise RuntimeError("could not allocate an opt-out reference")
        privacy_alert_raise(kind=PrivacyAlert.Kind.OPT_OUT, user=entered_by)
    return opt_out


def _people_of(person: Person) -> list[Person]:
    """The person and any records merged into them (a merge keeps the retired row): one human."""
    from ingestion.models import MergeRecord

    found = {person.pk: person}
    frontier = [person.pk]
    while frontier:
        retired = list(
            Person.objects.filter(
                pk__in=MergeRecord.objects.filter(surviving_person_id__in=frontier).values(
                    "retired_person_id"
                )
            ).exclude(pk__in=found)
        )
        found.update((p.pk, p) for p in retired)
        frontier = [p.pk for p in retired]
    return list(found.values())


def person_erase(*, person: Person, user: User | None = None) -> dict[str, int]:
    """Remove a person from the record store: demographics, addresses, local identifiers, entries,
    grants, proxies and correction requests all go with the Person row, as do records merged into it and
    the merge history. Raw inbound messages about them alone lose their payload and are set aside as
    discarded, which also frees their control ids for a resend after a withdrawal.

    The access trail is kept: it holds the person's id and NHS number as plain values, never a foreign
    key, so who looked at the record stays answerable. Returns how many rows of each kind were removed."""
    from django.db.models import Q

    from ingestion.models import InboundMessage, IngestionAction, MergeRecord

    people = _people_of(person)
    ids = [p.pk for p in people]
    counts: dict[str, int] = {}
    merges = MergeRecord.objects.filter(Q(surviving_person_id__in=ids) | Q(retired_person_id__in=ids))
    _, by_model = merges.delete()
    counts.update(by_model)
    # Messages about this person alone; a batch about many people keeps its payload for the others.
    about_them = Q(pk__in=[])
    for pk in ids:
        about_them |= Q(outcome__people__contains=[pk])
    messages = InboundMessage.objects.filter(about_them, outcome__people__contained_by=ids).exclude(
        status=InboundMessage.Status.DISCARDED
    )
    previous = dict(messages.values_list("pk", "status"))
    reason = "The person opted out of the shared care record: the payload was removed."
    IngestionAction.objects.bulk_create(
        IngestionAction(
            message_id=pk,
            action=IngestionAction.Action.DISCARD,
            user=user,
            reason=reason,
            detail={"previous_status": status},
        )
        for pk, status in previous.items()
    )
    redacted = InboundMessage.objects.filter(pk__in=previous).update(
        status=InboundMessage.Status.DISCARDED, payload=b"", error=f"Discarded: {reason}"
    )
    if redacted:
        counts["ingestion.InboundMessage (payload removed)"] = redacted
    _, by_model = Person.objects.filter(pk__in=ids).delete()
    for label, count in by_model.items():
        counts[label] = counts.get(label, 0) + count
    return {label: count for label, count in sorted(counts.items()) if count}


def _letter(opt_out: OptOut) -> str:
    with translation.override(opt_out.language or "en-gb"):
        return render_to_string(
            "consent/letter.txt", {"opt_out": opt_out, "today": timezone.localdate()}
        ).strip()


def _forget_applicant_details(opt_out: OptOut) -> list[str]:
    for name in APPLICANT_FIELDS:
        setattr(opt_out, name, None if name == "date_of_birth" else "")
    return list(APPLICANT_FIELDS)


@transaction.atomic
def opt_out_approve(
    *, opt_out: OptOut, decided_by: User, person: Person | None = None, nhs_number: str = "", reason: str = ""
) -> OptOut:
    """Approve: at once erase the person's record and keep only what honours the choice (NHS number,
    dates, channel, reference). Ingestion drops later data for the NHS number from this commit on.

    The NHS number comes from the matched person, or is given by the privacy officer (a person with no
    record yet can still opt out of future data)."""
    opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
    if opt_out.status != OptOut.Status.RECEIVED:
        raise ValidationError(
            f"{opt_out.reference} has already been decided ({opt_out.get_status_display()})."
        )
    number = nhs_numbers.normalise(person.nhs_number if person else nhs_number or opt_out.nhs_number)
    if not nhs_numbers.is_valid(number):
        raise ValidationError(
            "An opt-out is enforced by NHS number: trace the person's NHS number first and enter it."
        )
    if OptOut.objects.in_force().filter(nhs_number=number).exclude(pk=opt_out.pk).exists():
        raise ValidationError(
            "An opt-out is already in force for this NHS number; reject this one as a duplicate."
        )
    erased: dict[str, int] = {}
    for match in Person.objects.filter(nhs_number=number):
        for label, count in person_erase(person=match, user=decided_by).items():
            erased[label] = erased.get(label, 0) + count
    opt_out.status = OptOut.Status.APPROVED
    opt_out.nhs_number = number
    opt_out.decided_by, opt_out.decided_at, opt_out.decision_reason = decided_by, timezone.now(), reason
    opt_out.erased = erased
    opt_out.letter_text = _letter(opt_out)
    changed = _forget_applicant_details(opt_out)
    transaction.on_commit(_enforce_soon)
    with set_actor(decided_by):
        opt_out.save(
            update_fields=[
                "status",
                "nhs_number",
                "decided_by",
                "decided_at",
                "decision_reason",
                "erased",
                "letter_text",
                *changed,
            ]
        )
    return opt_out


def _enforce_soon() -> None:
    from consent import tasks  # deferred: tasks imports services

    tasks.opt_outs_enforce_task.delay()


@transaction.atomic
def opt_out_reject(*, opt_out: OptOut, decided_by: User, reason_code: str, note: str = "") -> OptOut:
    """Reject with a reason the applicant is told in their language (identity not confirmed, no authority,
    a duplicate…), and the officer's note where the standard reasons do not fit."""
    if reason_code not in OptOut.RejectionReason.values:
        raise ValidationError("Choose the reason for rejecting the request: the applicant is told it.")
    if reason_code == OptOut.RejectionReason.OTHER and not note.strip():
        raise ValidationError("Explain the reason: the applicant is told it.")
    opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
    if opt_out.status != OptOut.Status.RECEIVED:
        raise ValidationError(
            f"{opt_out.reference} has already been decided ({opt_out.get_status_display()})."
        )
    opt_out.status = OptOut.Status.REJECTED
    opt_out.decided_by, opt_out.decided_at = decided_by, timezone.now()
    opt_out.rejection_reason, opt_out.decision_reason = reason_code, note.strip()
    opt_out.letter_text = _letter(opt_out)
    with set_actor(decided_by):
        opt_out.save(
            update_fields=[
                "status",
                "decided_by",
                "decided_at",
                "rejection_reason",
                "decision_reason",
                "letter_text",
            ]
        )
    return opt_out


@transaction.atomic
def opt_out_withdraw(*, opt_out: OptOut, withdrawn_by: User, note: str = "") -> OptOut:
    """The person wants a shared record again: new data flows from now. Earlier data is not restored
    here; the sources resend it (see the README, Citizens' rights)."""
    opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
    if opt_out.status != OptOut.Status.APPROVED:
        raise ValidationError(f"Only an opt-out in force can be withdrawn; {opt_out.reference} is not.")
    opt_out.status = OptOut.Status.WITHDRAWN
    opt_out.withdrawn_by, opt_out.withdrawn_at, opt_out.withdrawal_note = withdrawn_by, timezone.now(), note
    with set_actor(withdrawn_by):
        opt_out.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdrawal_note"])
    return opt_out


def opt_out_letter_sent(*, opt_out: OptOut, sent_by: User) -> OptOut:
    """The letter has gone: drop its copy of the applicant's name and address."""
    opt_out.letter_sent_at, opt_out.letter_text = timezone.now(), ""
    with set_actor(sent_by):
        opt_out.save(update_fields=["letter_sent_at", "letter_text"])
    return opt_out


# Carers and legal proxies


@transaction.atomic
def legal_proxy_record(*, proxy: LegalProxy, verified_by: User) -> LegalProxy:
    """Record a proxy's authority as verified by the user who saw the evidence, now."""
    if not proxy.evidence_seen.strip():
        raise ValidationError(
            "Describe the evidence seen (the LPA, the court order, the birth certificate…)."
        )
    proxy.verified_by, proxy.verified_at = verified_by, timezone.now()
    proxy.full_clean()
    with set_actor(verified_by):
        proxy.save()
    return proxy


def proxy_permission_check(proxy: LegalProxy) -> None:
    """Raise ValidationError, saying why, unless this proxy may give a professional permission today."""
    from consent.models import ProxyAuthority

    today = timezone.localdate()
    if not proxy.is_in_force_on(today):
        raise ValidationError(
            f"{proxy.name}'s authority is not in force today (not verified, revoked, or outside its dates)."
        )
    if not proxy.person_lacks_capacity:
        raise ValidationError(
            "The person has not been assessed as lacking capacity: ask them, not their proxy."
        )
    if proxy.authority == ProxyAuthority.PARENTAL:
        age = proxy.person.age_on(today)
        if age is None or age >= 18:
            raise ValidationError("Parental responsibility ends at 18: this person is not a child.")


@transaction.atomic
def proxy_permission_give(
    *, proxy: LegalProxy, professional: User, reason: str, expires_at: datetime, recorded_by: User
) -> ProxyPermission:
    """The proxy of a person who lacks capacity lets one named professional see the record, for at most
    90 days: a granted care relationship (records.access) that expires, logged by django-auditlog."""
    from records.access import care_relationship_grant

    now = timezone.now()
    if not reason.strip():
        raise ValidationError("Say why the professional needs the record.")
    if expires_at <= now or expires_at > now + PROXY_PERMISSION_MAX:
        raise ValidationError(
            f"A proxy's permission lasts at most {PROXY_PERMISSION_MAX.days} days from today."
        )
    proxy_permission_check(proxy)
    with set_actor(recorded_by):
        grant = care_relationship_grant(
            person=proxy.person,
            user=professional,
            granted_by=recorded_by,
            expires_at=expires_at,
            reason=f"Permission from {proxy.name} ({proxy.get_authority_display()}): {reason.strip()}"[:300],
        )
        return ProxyPermission.objects.create(
            proxy=proxy,
            professional=professional,
            reason=reason.strip(),
            granted_at=now,
            expires_at=expires_at,
            recorded_by=recorded_by,
            grant=grant,
        )


@transaction.atomic
def proxy_permission_revoke(*, permission: ProxyPermission, revoked_by: User) -> ProxyPermission:
    """The proxy withdraws the permission: the professional loses the relationship at once."""
    from records.access import care_relationship_end

    with set_actor(revoked_by):
        care_relationship_end(person=permission.proxy.person, user=permission.professional)
        permission.revoked_at = timezone.now()
        permission.save(update_fields=["revoked_at"])
    return permission


def opt_outs_enforce() -> dict[str, int]:
    """Erase anyone in the record whose NHS number has an opt-out in force. Approval erases at once; this
    catches a message that was being stored at the very moment of approval (its check ran before the
    approval committed), and runs after every approval and every minute."""
    in_force = OptOut.objects.in_force().values("nhs_number")
    erased: dict[str, int] = {}
    for person in Person.objects.filter(nhs_number__in=in_force):
        with transaction.atomic():
            for label, count in person_erase(person=person).items():
                erased[label] = erased.get(label, 0) + count
    return erased
