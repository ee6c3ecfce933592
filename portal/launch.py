"""Context launch: a partner system opens the portal on one person with a signed, short-lived link.

The link carries a JWT signed by the partner (its registered key and algorithm) naming the user and the
person by NHS number. Receiving it verifies the signature, audience, lifetime and that its jti was never
used; the launch is then held in the session while the user signs in (with MFA) and picks the role they
act in. Opening it checks that the signed-in user is the one the partner named, then goes through the
access rules like any other look at a record: a person the user may not open is refused exactly as one
who does not exist. Every launch is recorded, and the trail names the partner.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AccessEvent
from audit.services import access_event_record
from portal.models import ContextLaunch, LaunchPartner
from records import nhs_numbers
from records.access import Actor, PersonNotFound, person_for
from records.models import Membership, Person, User

logger = logging.getLogger(__name__)

# Leeway for clocks that differ between the partner's server and ours.
CLOCK_SKEW = timedelta(seconds=30)


class LaunchRefused(Exception):
    """A launch link that cannot be used. `reason` is a short code for the log and the trail; the
    message is for the user."""

    def __init__(self, reason: str, message: str, launch: ContextLaunch | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.launch = launch


def _refuse(reason: str, message: str, **extra) -> LaunchRefused:
    logger.warning("context launch refused: %s %s", reason, extra)
    return LaunchRefused(reason, message)


def launch_receive(*, token: str) -> ContextLaunch:
    """Verify a launch link and record it, so it can be used once. Raises LaunchRefused."""
    token = (token or "").strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise _refuse("malformed", "This launch link is not valid.") from None
    partner = (
        LaunchPartner.objects.select_related("organisation")
        .filter(code=str(unverified.get("iss", "")), active=True)
        .first()
    )
    if partner is None:
        raise _refuse(
            "unknown_partner",
            "This launch link comes from a system that is not registered to open the shared care record.",
            iss=unverified.get("iss"),
        )
    if header.get("alg") != partner.algorithm:
        raise _refuse("wrong_algorithm", "This launch link is not valid.", partner=partner.code)
    try:
        claims = jwt.decode(
            token,
            key=partner.verification_key(),
            algorithms=[partner.algorithm],
            audience=settings.DCR_LAUNCH_AUDIENCE,
            issuer=partner.code,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise _refuse(
            "expired",
            "This launch link has expired. Open the record again from your system.",
            partner=partner.code,
        ) from None
    except jwt.InvalidSignatureError:
        raise _refuse(
            "bad_signature",
            f"This launch link was not signed with {partner.name}'s registered key.",
            partner=partner.code,
        ) from None
    except (jwt.InvalidTokenError, ValueError) as error:
        raise _refuse(
            "invalid", "This launch link is not valid.", partner=partner.code, error=str(error)
        ) from None

    issued_at = datetime.fromtimestamp(claims["iat"], tz=UTC)
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    if expires_at - issued_at > timedelta(seconds=settings.DCR_LAUNCH_MAX_LIFETIME_SECONDS):
        raise _refuse(
            "too_long_lived",
            "This launch link is valid for too long to be accepted. Ask the system's supplier to shorten it.",
            partner=partner.code,
        )
    nhs_number = nhs_numbers.normalise(str(claims.get("nhs_number", "")))
    if not nhs_numbers.is_valid(nhs_number):
        raise _refuse(
            "bad_nhs_number", "This launch link does not name a valid NHS number.", partner=partner.code
        )
    jti = str(claims["jti"])
    if not 8 <= len(jti) <= 200:
        raise _refuse("bad_jti", "This launch link is not valid.", partner=partner.code)

    user_claim = str(claims["sub"]).strip()
    try:
        with transaction.atomic():
            return ContextLaunch.objects.create(
                partner=partner,
                jti=jti,
                issued_at=issued_at,
                expires_at=expires_at,
                user_claim=user_claim,
                user=_named_user(user_claim),
                nhs_number=nhs_number,
                organisation_ods=str(claims.get("ods", ""))[:12],
            )
    except IntegrityError:
        raise _refuse(
            "replayed",
            "This launch link has already been used. Open the record again from your system.",
            partner=partner.code,
            jti=jti,
        ) from None


def _named_user(user_claim: str) -> User | None:
    """The partner names the user by the email address provisioned here or by their smartcard (SDS) id."""
    if not user_claim:
        return None
    users = list(
        User.objects.filter(Q(email__iexact=user_claim) | Q(sds_user_id=user_claim), is_active=True)[:2]
    )
    return users[0] if len(users) == 1 else None


def launch_pending(*, launch_id: int | None) -> ContextLaunch | None:
    if not launch_id:
        return None
    return ContextLaunch.objects.select_related("partner__organisation").filter(pk=launch_id).first()


def launch_membership(*, launch: ContextLaunch, user: User) -> Membership | None:
    """The user's one active membership at the organisation the partner named, to act in."""
    if not launch.organisation_ods:
        return None
    memberships = list(
        Membership.objects.filter(
            user=user, is_active=True, organisation__ods_code=launch.organisation_ods
        ).select_related("organisation", "role")[:2]
    )
    return memberships[0] if len(memberships) == 1 else None


def _close(launch: ContextLaunch, *, outcome: str, refusal: str = "", person_id: int | None = None) -> None:
    launch.outcome, launch.refusal, launch.person_id = outcome, refusal, person_id
    launch.completed_at = timezone.now()
    launch.save(update_fields=["outcome", "refusal", "person_id", "completed_at"])


def launch_open(*, launch: ContextLaunch, actor: Actor) -> Person:
    """Open the launched person's record for the signed-in actor, or raise LaunchRefused (or
    PersonNotFound when the access rules do not let them open it, which looks like no such person).

    Writes the access event naming the partner either way."""
    actor = dataclasses.replace(actor, launched_by=launch.partner.code, memo={})
    detail = {"partner": launch.partner.code, "jti": launch.jti, "launch": launch.pk}
    basis_detail = f"Context launch from {launch.partner.name} ({launch.partner.organisation.ods_code})"

    def refuse(reason: str, message: str) -> LaunchRefused:
        _close(launch, outcome=ContextLaunch.Outcome.REFUSED, refusal=reason)
        access_event_record(
            actor=actor,
            action=AccessEvent.Action.CONTEXT_LAUNCH,
            outcome=AccessEvent.Outcome.DENIED,
            basis_detail=basis_detail,
            detail={**detail, "refused": reason},
        )
        return LaunchRefused(reason, message, launch)

    if launch.outcome != ContextLaunch.Outcome.PENDING:
        raise LaunchRefused(
            "replayed", "This launch link has already been used. Open the record again from your system."
        )
    if timezone.now() > launch.received_at + timedelta(seconds=settings.DCR_LAUNCH_SIGN_IN_SECONDS):
        raise refuse(
            "sign_in_too_slow", "This launch link has expired. Open the record again from your system."
        )
    if launch.user_id != actor.user.pk:
        raise refuse(
            "other_user",
            "This launch link was made for another user. Sign out, then open the record again from your "
            "system as yourself.",
        )
    person_id = Person.objects.filter(nhs_number=launch.nhs_number).values_list("pk", flat=True).first()
    try:
        # Not inside a transaction of ours: the refusal person_for writes to the trail must stay written.
        person, basis = person_for(
            actor=actor,
            person_id=person_id,
            action=AccessEvent.Action.CONTEXT_LAUNCH,
            detail={**detail, "page": "context_launch"},
        )
    except PersonNotFound:
        _close(launch, outcome=ContextLaunch.Outcome.REFUSED, refusal="not_found_or_not_allowed")
        raise
    with transaction.atomic():
        access_event_record(
            actor=actor,
            action=AccessEvent.Action.CONTEXT_LAUNCH,
            person=person,
            basis=basis.value,
            basis_detail=basis_detail,
            detail=detail,
        )
        _close(launch, outcome=ContextLaunch.Outcome.OPENED, person_id=person.pk)
    return person
