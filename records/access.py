"""Who may see which person, and which of their entries. The one door to person data.

A user acts as one Membership (an organisation and a role) at a time. They may open a person's record when
a care relationship exists (derived from the data, granted explicitly, self-claimed, or break-glass) and
their role reads records. Within a record they see the categories their role allows, from organisations
whose sharing agreement is in force and from sources that are live, minus sensitive entries from other
organisations and safeguarding items unless their role handles safeguarding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from records import nhs_numbers
from records.models import (
    BREAK_GLASS_DURATION,
    SELF_CLAIM_DURATION,
    AccessGrant,
    Entry,
    EntryCategory,
    Membership,
    Organisation,
    Person,
    PersonUserObjectPermission,
    Sensitivity,
    User,
)

# Contact at the user's organisation within this many days (past or booked ahead) is a care relationship.
CONTACT_CATEGORIES = (EntryCategory.ENCOUNTER, EntryCategory.APPOINTMENT, EntryCategory.REFERRAL)
# Withheld from everyone outside the organisation that recorded them.
SOURCE_ONLY_SENSITIVITIES = (
    Sensitivity.SEXUAL_HEALTH,
    Sensitivity.FERTILITY,
    Sensitivity.GENDER_REASSIGNMENT,
    Sensitivity.TERMINATION,
    Sensitivity.RESTRICTED,
)


def relationship_window() -> timedelta:
    return timedelta(days=getattr(settings, "DCR_CARE_RELATIONSHIP_DAYS", 365))


class Basis(enum.StrEnum):
    """Why a user may open a record; written on every access event."""

    REGISTERED = "registered_practice"
    CONTACT = "recent_contact"
    ALLOCATED_TEAM = "allocated_team"
    GRANTED = "granted"
    SELF_CLAIM = "self_claim"
    BREAK_GLASS = "break_glass"


@dataclass(frozen=True)
class Actor:
    """A signed-in user acting in one organisation and role, from one client."""

    user: User
    membership: Membership
    client_ip: str | None = None
    session_ref: str = ""
    launched_by: str = ""  # partner system, for a context launch
    # Per-request memo of the small lookup tables; an Actor lives for one request.
    memo: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    @property
    def organisation(self) -> Organisation:
        return self.membership.organisation

    @property
    def role(self):
        return self.membership.role


@dataclass(frozen=True)
class _Lookups:
    live_sources: list[int]
    sharing_organisations: list[int]


_LOOKUPS_SQL = """
SELECT (SELECT coalesce(array_agg(id), '{}') FROM records_sourcesystem WHERE mode = 'live'),
       (SELECT coalesce(array_agg(id), '{}') FROM records_organisation
         WHERE sharing_agreement_from <= %(today)s
           AND (sharing_agreement_to IS NULL OR sharing_agreement_to >= %(today)s))
"""


def _lookups(actor: Actor | None = None) -> _Lookups:
    """The small tables every rule consults (a region has hundreds of sources and organisations), read
    in one round trip and passed as values, so the planner uses the person index and never joins per row."""
    if actor is not None and "lookups" in actor.memo:
        return actor.memo["lookups"]
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUPS_SQL, {"today": timezone.localdate()})
        live, sharing = cursor.fetchone()
    lookups = _Lookups(list(live), list(sharing))
    if actor is not None:
        actor.memo["lookups"] = lookups
    return lookups


def _visible_entries(lookups: _Lookups | None = None) -> QuerySet[Entry]:
    """Entries from live sources whose organisation shares today."""
    lookups = lookups or _lookups()
    return Entry.objects.filter(
        source_system_id__in=lookups.live_sources, source_organisation_id__in=lookups.sharing_organisations
    )


def _relationship_conditions(actor: Actor) -> dict[Basis, Q]:
    lookups = _lookups(actor)
    now = timezone.now()
    window = relationship_window()
    contact = _visible_entries(lookups).filter(
        person=OuterRef("pk"),
        source_organisation=actor.organisation,
        category__in=CONTACT_CATEGORIES,
        occurred_at__gte=now - window,
        occurred_at__lte=now + window,
    )
    conditions = {
        Basis.REGISTERED: Q(registered_practice=actor.organisation),
        Basis.CONTACT: Q(Exists(contact)),
        Basis.GRANTED: Q(
            Exists(
                PersonUserObjectPermission.objects.in_force(now).filter(
                    content_object=OuterRef("pk"), user=actor.user
                )
            )
        ),
    }
    if actor.membership.team:
        allocated = _visible_entries(lookups).filter(
            person=OuterRef("pk"),
            source_organisation=actor.organisation,
            category=EntryCategory.CARE_PLAN,
            allocated_team=actor.membership.team,
        )
        conditions[Basis.ALLOCATED_TEAM] = Q(Exists(allocated))
    for basis in (Basis.SELF_CLAIM, Basis.BREAK_GLASS):
        grants = AccessGrant.objects.filter(
            person=OuterRef("pk"), user=actor.user, basis=basis.value, expires_at__gt=now
        )
        conditions[basis] = Q(Exists(grants))
    return conditions


def person_list_visible_to(*, actor: Actor) -> QuerySet[Person]:
    """People the actor may open: a care relationship of any kind, and a role that reads records."""
    if not actor.membership.is_active or not actor.role.reads_records:
        return Person.objects.none()
    visible = Q()
    for condition in _relationship_conditions(actor).values():
        visible |= condition
    return Person.objects.filter(visible)


# The same rules as _relationship_conditions, as one statement for one person: this runs on every page
# view, where building the ORM expression cost more than the query. The permission matrix tests check
# both paths against the same cases.
_BASIS_SQL = """
WITH l AS ({lookups}),
contact AS (
    SELECT e.category, e.occurred_at, e.allocated_team FROM records_entry e, l
     WHERE e.person_id = %(person)s AND e.source_organisation_id = %(organisation)s
       AND e.source_system_id = ANY(l.live) AND e.source_organisation_id = ANY(l.sharing)
)
SELECT p.registered_practice_id IS NOT DISTINCT FROM %(organisation)s,
       EXISTS (SELECT 1 FROM contact WHERE category = ANY(%(contact_categories)s)
                AND occurred_at BETWEEN %(window_start)s AND %(window_end)s),
       %(team)s <> '' AND EXISTS (SELECT 1 FROM contact
                                  WHERE category = 'care_plan' AND allocated_team = %(team)s),
       EXISTS (SELECT 1 FROM records_personuserobjectpermission g
                WHERE g.content_object_id = p.id AND g.user_id = %(user)s
                  AND (g.expires_at IS NULL OR g.expires_at > %(now)s)),
       EXISTS (SELECT 1 FROM records_accessgrant a WHERE a.person_id = p.id AND a.user_id = %(user)s
                AND a.basis = 'self_claim' AND a.expires_at > %(now)s),
       EXISTS (SELECT 1 FROM records_accessgrant a WHERE a.person_id = p.id AND a.user_id = %(user)s
                AND a.basis = 'break_glass' AND a.expires_at > %(now)s),
       l.live, l.sharing
FROM records_person p, l WHERE p.id = %(person)s
"""
# The first look of a request reads the lookups in the same round trip; later ones pass them in.
_LOOKUPS_AS_ROW = "SELECT l.* FROM (" + _LOOKUPS_SQL + ") AS l(live, sharing)"  # noqa: S608 - module constants only
_BASIS_SQL_READING_LOOKUPS = _BASIS_SQL.format(lookups=_LOOKUPS_AS_ROW)
_BASIS_SQL_GIVEN_LOOKUPS = _BASIS_SQL.format(
    lookups="SELECT %(live)s::bigint[] AS live, %(sharing)s::bigint[] AS sharing"
)
_BASIS_ORDER = (
    Basis.REGISTERED,
    Basis.CONTACT,
    Basis.ALLOCATED_TEAM,
    Basis.GRANTED,
    Basis.SELF_CLAIM,
    Basis.BREAK_GLASS,
)


def access_basis(*, actor: Actor, person: Person, lookups: _Lookups | None = None) -> Basis | None:
    """The strongest relationship that lets the actor open this person (derived before granted before
    self-claimed before break-glass), or None."""
    if not actor.membership.is_active or not actor.role.reads_records:
        return None
    lookups = lookups or actor.memo.get("lookups")
    now = timezone.now()
    params = {
        "today": timezone.localdate(),
        "person": person.pk,
        "organisation": actor.organisation.pk,
        "user": actor.user.pk,
        "team": actor.membership.team,
        "live": lookups.live_sources if lookups else None,
        "sharing": lookups.sharing_organisations if lookups else None,
        "contact_categories": [c.value for c in CONTACT_CATEGORIES],
        "now": now,
        "window_start": now - relationship_window(),
        "window_end": now + relationship_window(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_BASIS_SQL_GIVEN_LOOKUPS if lookups else _BASIS_SQL_READING_LOOKUPS, params)
        row = cursor.fetchone()
    if row is None:
        return None
    *row, live, sharing = row
    if lookups is None:
        actor.memo["lookups"] = _Lookups(list(live), list(sharing))
    return next((basis for basis, holds in zip(_BASIS_ORDER, row or (), strict=False) if holds), None)


# Which of a person's entries a role sees, as one predicate (the hottest path in the product: building
# the same condition with the ORM cost more than running it):
# - from a live source whose organisation shares today, in a category the role sees;
# - safeguarding items only for roles that handle safeguarding, from any organisation;
# - items flagged sensitive by the source, or coded with anything on the sensitive list, only inside the
#   organisation that recorded them;
# - everything else, to every role that sees the category.
_ENTRY_RULE_SQL = """
records_entry.source_system_id = ANY(%s) AND records_entry.source_organisation_id = ANY(%s)
AND records_entry.category = ANY(%s)
AND CASE
    WHEN records_entry.sensitivity = 'safeguarding' THEN %s
    WHEN records_entry.sensitivity = 'normal' AND NOT EXISTS (
        SELECT 1 FROM records_sensitivecode sc
         WHERE sc.code = records_entry.code AND sc.code_system = records_entry.code_system) THEN true
    ELSE records_entry.source_organisation_id = %s
END
"""


def entry_list_visible_to(*, actor: Actor, person: Person, categories=None) -> QuerySet[Entry]:
    """The person's entries this actor may see. Call only for a person from person_list_visible_to."""
    allowed = set(actor.role.categories)
    if categories is not None:
        allowed &= set(categories)
    lookups = _lookups(actor)
    params = [
        lookups.live_sources,
        lookups.sharing_organisations,
        sorted(allowed),
        bool(actor.role.sees_safeguarding),
        actor.organisation.pk,
    ]
    return Entry.objects.filter(person=person).extra(where=[_ENTRY_RULE_SQL], params=params)  # noqa: S610


def restricted_information_exists(*, actor: Actor, person: Person) -> bool:
    """Safeguarding information the actor may not see: they are told it exists, not what it is."""
    if actor.role.sees_safeguarding:
        return False
    lookups = _lookups(actor)
    # Arrays bound as two values, not a hundred placeholders each; the partial index on non-normal
    # entries finds the person's few candidates.
    return (
        Entry.objects.filter(person=person, sensitivity=Sensitivity.SAFEGUARDING)
        .extra(
            where=[
                "records_entry.source_system_id = ANY(%s) AND records_entry.source_organisation_id = ANY(%s)"
            ],
            params=[lookups.live_sources, lookups.sharing_organisations],
        )
        .exists()
    )


class PersonNotFound(Exception):
    """No such person, or one the actor may not open: the two are indistinguishable on purpose."""


@dataclass(frozen=True)
class OpenedRecord:
    person: Person
    basis: Basis
    access_event: object


def _alerts_for_opening(*, actor: Actor, person: Person) -> list[str]:
    from audit.models import PrivacyAlert

    kinds = []
    if actor.user.nhs_number and actor.user.nhs_number == person.nhs_number:
        kinds.append(PrivacyAlert.Kind.OWN_RECORD)
    if person.is_staff_member:
        kinds.append(PrivacyAlert.Kind.STAFF_RECORD)
    if person.is_public_figure:
        kinds.append(PrivacyAlert.Kind.PUBLIC_FIGURE)
    return kinds


def person_for(
    *, actor: Actor, person_id: int, action: str, detail: dict | None = None
) -> tuple[Person, Basis]:
    """The person and the basis on which this actor may open them. Otherwise the refusal is written to
    the trail and PersonNotFound raised, whether or not the person exists."""
    from audit.models import AccessEvent
    from audit.services import access_event_record

    person = Person.objects.filter(pk=person_id).first()
    basis = access_basis(actor=actor, person=person) if person else None
    if person is None or basis is None:
        access_event_record(
            actor=actor, action=action, person_id=person_id, outcome=AccessEvent.Outcome.DENIED, detail=detail
        )
        raise PersonNotFound(person_id)
    return person, basis


@transaction.atomic
def person_shown(*, actor: Actor, person: Person, basis: Basis, action: str, detail: dict | None = None):
    """Write what is about to be shown, and raise the privacy officer's alerts. Call before rendering:
    if this fails, nothing is shown (fail closed)."""
    from audit.services import access_event_record, privacy_alert_raise

    event = access_event_record(actor=actor, action=action, person=person, basis=basis.value, detail=detail)
    for kind in _alerts_for_opening(actor=actor, person=person):
        privacy_alert_raise(kind=kind, user=actor.user, person_id=person.pk, access_event=event)
    return event


def person_open(*, actor: Actor, person_id: int, action: str, detail: dict | None = None) -> OpenedRecord:
    """Open a person's record for this actor (exports, APIs): check, then audit, in one call."""
    person, basis = person_for(actor=actor, person_id=person_id, action=action, detail=detail)
    event = person_shown(actor=actor, person=person, basis=basis, action=action, detail=detail)
    return OpenedRecord(person=person, basis=basis, access_event=event)


class AccessRefused(Exception):
    """A break-glass or self-claim the rules do not allow; the message says why, for the user."""


def _person_for_emergency(nhs_number: str, date_of_birth) -> Person | None:
    # Exact NHS number and date of birth: break-glass is for a person in front of you, not for browsing.
    return Person.objects.filter(
        nhs_number=nhs_numbers.normalise(nhs_number), date_of_birth=date_of_birth
    ).first()


def break_glass_grant(
    *, actor: Actor, nhs_number: str, date_of_birth, reason_code: str, reason_text: str = ""
) -> AccessGrant:
    """Emergency access for a few hours without a relationship; the privacy officer is alerted and must
    review every one."""
    return _access_grant_take(
        actor=actor,
        basis=AccessGrant.Basis.BREAK_GLASS,
        nhs_number=nhs_number,
        date_of_birth=date_of_birth,
        reason_code=reason_code,
        reason_text=reason_text,
    )


def self_claim_grant(
    *, actor: Actor, nhs_number: str, date_of_birth, reason_code: str, reason_text: str = ""
) -> AccessGrant:
    """A relationship the user asserts, where their organisation's policy allows it; reviewed like
    break-glass."""
    if not actor.organisation.allows_self_claim:
        raise AccessRefused(f"{actor.organisation.name} does not allow staff to claim a care relationship.")
    return _access_grant_take(
        actor=actor,
        basis=AccessGrant.Basis.SELF_CLAIM,
        nhs_number=nhs_number,
        date_of_birth=date_of_birth,
        reason_code=reason_code,
        reason_text=reason_text,
    )


def _access_grant_take(
    *, actor: Actor, basis: str, nhs_number: str, date_of_birth, reason_code: str, reason_text: str
) -> AccessGrant:
    from audit.models import AccessEvent
    from audit.services import access_event_record

    action = (
        AccessEvent.Action.BREAK_GLASS
        if basis == AccessGrant.Basis.BREAK_GLASS
        else AccessEvent.Action.SELF_CLAIM
    )
    if basis == AccessGrant.Basis.BREAK_GLASS and not actor.role.may_break_glass:
        raise AccessRefused(f"Your role ({actor.role.name}) cannot use emergency access.")
    if not actor.role.reads_records:
        raise AccessRefused(f"Your role ({actor.role.name}) does not read records.")
    if reason_code == AccessGrant.Reason.OTHER and not reason_text.strip():
        raise AccessRefused("Explain the reason when you choose 'Other'.")
    person = _person_for_emergency(nhs_number, date_of_birth)
    detail = {"reason_code": reason_code}
    if person is None:
        access_event_record(
            actor=actor,
            action=action,
            outcome=AccessEvent.Outcome.DENIED,
            basis_detail=reason_text,
            detail={**detail, "found": False},
        )
        raise PersonNotFound(nhs_number)
    with transaction.atomic():
        return _access_grant_create(
            actor=actor,
            basis=basis,
            person=person,
            reason_code=reason_code,
            reason_text=reason_text,
            action=action,
            detail=detail,
        )


def _access_grant_create(
    *, actor: Actor, basis: str, person: Person, reason_code: str, reason_text: str, action: str, detail: dict
) -> AccessGrant:
    from audit.models import PrivacyAlert
    from audit.services import access_event_record, privacy_alert_raise

    duration = BREAK_GLASS_DURATION if basis == AccessGrant.Basis.BREAK_GLASS else SELF_CLAIM_DURATION
    grant = AccessGrant.objects.create(
        user=actor.user,
        membership=actor.membership,
        person=person,
        basis=basis,
        reason_code=reason_code,
        reason_text=reason_text.strip(),
        expires_at=timezone.now() + duration,
    )
    event = access_event_record(
        actor=actor,
        action=action,
        person=person,
        basis=basis,
        basis_detail=f"{grant.get_reason_code_display()}: {grant.reason_text}".strip(": "),
        detail={**detail, "grant": grant.pk},
    )
    kind = (
        PrivacyAlert.Kind.BREAK_GLASS
        if basis == AccessGrant.Basis.BREAK_GLASS
        else PrivacyAlert.Kind.SELF_CLAIM
    )
    privacy_alert_raise(
        kind=kind, user=actor.user, person_id=person.pk, access_grant=grant, access_event=event
    )
    return grant


@transaction.atomic
def care_relationship_grant(
    *, person: Person, user: User, granted_by: User | None, expires_at=None, reason: str = ""
) -> PersonUserObjectPermission:
    """An explicit relationship on one person (django-guardian object permission), renewed if it exists."""
    assign_perm("records.view_person", user, person)
    grant = PersonUserObjectPermission.objects.get(
        user=user, content_object=person, permission__codename="view_person"
    )
    grant.expires_at, grant.granted_by, grant.reason = expires_at, granted_by, reason
    grant.save(update_fields=["expires_at", "granted_by", "reason"])
    return grant


def care_relationship_end(*, person: Person, user: User) -> None:
    remove_perm("records.view_person", user, person)


class Levenshtein(Func):
    function = "levenshtein"
    output_field = IntegerField()


class Soundex(Func):
    function = "soundex"
    output_field = CharField()


def person_search(
    *,
    actor: Actor,
    nhs_number: str = "",
    name: str = "",
    date_of_birth=None,
    postcode: str = "",
    limit: int = 25,
) -> list[Person]:
    """Find people among those the actor may open. Someone they may not open is never in the results,
    so a search matching only such people looks exactly like one matching nobody.

    By NHS number (spaces allowed), or by name with date of birth and/or postcode. Names match fuzzily
    (trigram similarity, so typos match) on the family name or any part of a hyphenated or
    double-barrelled one, and on given names when two words are given.
    """
    from django.contrib.postgres.search import TrigramWordSimilarity
    from django.db.models import Value
    from django.db.models.functions import Greatest, Lower

    people = person_list_visible_to(actor=actor)
    number = nhs_numbers.normalise(nhs_number)
    if number:
        return list(people.filter(nhs_number=number)[:limit])
    words = [w for w in name.replace(",", " ").split() if w]
    if not words or (date_of_birth is None and not postcode):
        return []
    if date_of_birth is not None:
        people = people.filter(date_of_birth=date_of_birth)
    if postcode:
        people = people.filter(
            addresses__period_end__isnull=True,
            addresses__postcode__iexact=" ".join(postcode.upper().split()),
        )
    family = words[-1] if len(words) > 1 else words[0]
    people = people.annotate(
        name_score=Greatest(
            TrigramWordSimilarity(family, "family_name"), TrigramWordSimilarity(words[0], "family_name")
        ),
        name_distance=Levenshtein(Lower("family_name"), Value(family.lower())),
        name_sound=Soundex("family_name"),
    ).filter(
        # trigrams catch parts of hyphenated and double-barrelled names, edit distance and soundex
        # catch typos and transpositions (Smtih, Smyth)
        Q(name_score__gte=0.45) | Q(name_distance__lte=2) | Q(name_sound=Soundex(Value(family)))
    )
    if len(words) > 1:
        people = people.annotate(given_score=TrigramWordSimilarity(words[0], "given_names"))
        people = people.filter(Q(given_score__gte=0.45) | Q(name_score__gte=0.8))
    return list(people.distinct().order_by("-name_score", "family_name", "given_names")[:limit])
