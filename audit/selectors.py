"""The privacy officer's questions of the trail."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import AccessEvent
from records.models import Person, PersonAddress, User

PERSON_ACTIONS = (
    AccessEvent.Action.VIEW_RECORD,
    AccessEvent.Action.VIEW_SECTION,
    AccessEvent.Action.VIEW_DOCUMENT,
    AccessEvent.Action.BREAK_GLASS,
    AccessEvent.Action.EXPORT,
    AccessEvent.Action.CONTEXT_LAUNCH,
)


def access_event_list_for_person(
    *, person: Person | None = None, nhs_number: str = ""
) -> QuerySet[AccessEvent]:
    """Who looked at this person: every event naming them, newest first, refusals included."""
    condition = Q(person_nhs_number=nhs_number) if nhs_number else Q()
    if person is not None:
        condition |= Q(person_id=person.pk)
    return AccessEvent.objects.filter(condition).order_by("-seq")


def access_event_list_for_user(*, user: User) -> QuerySet[AccessEvent]:
    """What this user looked at and searched for."""
    return AccessEvent.objects.filter(user=user).order_by("-seq")


@dataclass(frozen=True)
class Anomaly:
    kind: str
    user_display: str
    detail: str
    event_ids: tuple[int, ...]


def anomaly_report(*, days: int = 30, volume_floor: int = 30) -> list[Anomaly]:
    """Views that deserve a look: people sharing the user's surname or postcode, staff records, and
    days on which a user opened far more records than users usually do."""
    since = timezone.now() - timedelta(days=days)
    views = AccessEvent.objects.filter(
        occurred_at__gte=since,
        outcome=AccessEvent.Outcome.ALLOWED,
        action__in=PERSON_ACTIONS,
        person_id__isnull=False,
    ).select_related("user")
    people = {p.pk: p for p in Person.objects.filter(pk__in=views.values("person_id"))}
    postcodes = dict(
        PersonAddress.objects.filter(person_id__in=people, period_end__isnull=True, use="home").values_list(
            "person_id", "postcode"
        )
    )
    anomalies: list[Anomaly] = []
    for event in views:
        person, user = people.get(event.person_id), event.user
        if person is None or user is None:
            continue
        if user.last_name and person.family_name.casefold() == user.last_name.casefold():
            anomalies.append(
                Anomaly(
                    "same surname",
                    event.user_display,
                    f"opened a record with the surname {person.family_name}",
                    (event.pk,),
                )
            )
        postcode = postcodes.get(person.pk, "")
        if (
            user.home_postcode
            and postcode
            and postcode.replace(" ", "") == user.home_postcode.upper().replace(" ", "")
        ):
            anomalies.append(
                Anomaly(
                    "same postcode",
                    event.user_display,
                    f"opened a record at their own postcode {postcode}",
                    (event.pk,),
                )
            )
        if person.is_staff_member:
            anomalies.append(
                Anomaly("staff record", event.user_display, "opened a member of staff's record", (event.pk,))
            )
    per_user_day = list(
        views.annotate(day=TruncDate("occurred_at"))
        .order_by()  # the model's ordering would otherwise join the GROUP BY
        .values("user_display", "day")
        .annotate(people=Count("person_id", distinct=True))
    )
    counts = [row["people"] for row in per_user_day]
    if len(counts) >= 2:
        # The median user-day is robust to the very outliers we look for (a mean and deviation are not).
        threshold = max(volume_floor, 4 * statistics.median(counts))
        for row in per_user_day:
            if row["people"] > threshold:
                anomalies.append(
                    Anomaly(
                        "unusual volume",
                        row["user_display"],
                        f"opened {row['people']} records on {row['day']:%d %b %Y} "
                        f"(usual at most {threshold:.0f})",
                        (),
                    )
                )
    return anomalies
