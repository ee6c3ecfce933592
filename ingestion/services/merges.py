"""Patient merges (ADT A40, A39, A34): everything filed under the retired identity moves to the survivor.

Every merge is recorded with the ids of what moved, so it can be undone exactly. A merge that would join
two people with different valid NHS numbers is never applied: it is held for review.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ingestion.models import InboundMessage, IngestionAction, MergeRecord
from records.models import Entry, LocalIdentifier, Person, PersonAddress, SourceSystem


class MergeRefused(Exception):
    """The merge would join two different valid NHS numbers: hold it for review."""


@transaction.atomic
def person_merge(
    *, source_system: SourceSystem, surviving: Person, retired: Person, message: InboundMessage | None = None
) -> MergeRecord | None:
    """Move the retired person's entries, local identifiers, addresses and NHS number to the survivor.

    Returns None when they are already the same person. Raises MergeRefused for two different NHS numbers.
    """
    if surviving.pk == retired.pk:
        return None
    if surviving.nhs_number and retired.nhs_number and surviving.nhs_number != retired.nhs_number:
        raise MergeRefused(
            f"the merge would join two different NHS numbers ({retired.nhs_number} into "
            f"{surviving.nhs_number}): held for review, never applied"
        )
    # Lock both people so that a concurrent batch does not file new data under the retired one meanwhile.
    list(Person.objects.select_for_update().filter(pk__in=[surviving.pk, retired.pk]))
    entries = list(Entry.objects.filter(person=retired).values_list("id", flat=True))
    Entry.objects.filter(id__in=entries).update(person=surviving, updated_at=timezone.now())
    local_ids = list(LocalIdentifier.objects.filter(person=retired).values_list("id", flat=True))
    LocalIdentifier.objects.filter(id__in=local_ids).update(person=surviving)
    closed: list[int] = []
    survivor_has_home = PersonAddress.objects.filter(
        person=surviving, use=PersonAddress.Use.HOME, period_end__isnull=True
    ).exists()
    if survivor_has_home:
        current = PersonAddress.objects.filter(
            person=retired, use=PersonAddress.Use.HOME, period_end__isnull=True
        )
        closed = list(current.values_list("id", flat=True))
        current.update(period_end=timezone.localdate())
    addresses = list(PersonAddress.objects.filter(person=retired).values_list("id", flat=True))
    PersonAddress.objects.filter(id__in=addresses).update(person=surviving)
    moved_number = None
    moved_status = ""
    if retired.nhs_number and not surviving.nhs_number:
        moved_number, moved_status = retired.nhs_number, retired.nhs_number_status
        retired.nhs_number = None
        retired.save(update_fields=["nhs_number", "updated_at"])
        surviving.nhs_number = moved_number
        surviving.nhs_number_status = surviving.nhs_number_status or moved_status
        surviving.save(update_fields=["nhs_number", "nhs_number_status", "updated_at"])
    return MergeRecord.objects.create(
        message=message,
        source_system=source_system,
        surviving_person=surviving,
        retired_person=retired,
        moved={
            "entries": entries,
            "local_identifiers": local_ids,
            "addresses": addresses,
            "closed_addresses": closed,
            "nhs_number": moved_number,
            "nhs_number_status": moved_status,
        },
    )


@transaction.atomic
def merge_undo(*, merge: MergeRecord, user=None, reason: str = "") -> MergeRecord:
    """Put back what the merge moved: entries, local identifiers, addresses and the NHS number.

    What arrived for the survivor after the merge stays with the survivor.
    """
    merge = MergeRecord.objects.select_for_update().get(pk=merge.pk)
    if merge.status == MergeRecord.Status.UNDONE:
        return merge
    surviving = Person.objects.select_for_update().get(pk=merge.surviving_person_id)
    retired = Person.objects.select_for_update().get(pk=merge.retired_person_id)
    moved = merge.moved
    Entry.objects.filter(id__in=moved.get("entries", []), person=surviving).update(
        person=retired, updated_at=timezone.now()
    )
    LocalIdentifier.objects.filter(id__in=moved.get("local_identifiers", []), person=surviving).update(
        person=retired
    )
    PersonAddress.objects.filter(id__in=moved.get("addresses", []), person=surviving).update(person=retired)
    closed = moved.get("closed_addresses", [])
    if (
        closed
        and not PersonAddress.objects.filter(
            person=retired, use=PersonAddress.Use.HOME, period_end__isnull=True
        ).exists()
    ):
        PersonAddress.objects.filter(id__in=closed[-1:], person=retired).update(period_end=None)
    number = moved.get("nhs_number")
    if number and surviving.nhs_number == number:
        surviving.nhs_number = None
        surviving.save(update_fields=["nhs_number", "updated_at"])
        retired.nhs_number = number
        retired.nhs_number_status = moved.get("nhs_number_status", "")
        retired.save(update_fields=["nhs_number", "nhs_number_status", "updated_at"])
    merge.status = MergeRecord.Status.UNDONE
    merge.undone_at = timezone.now()
    merge.undone_by = user if user is not None and user.pk else None
    merge.undo_reason = reason
    merge.save(update_fields=["status", "undone_at", "undone_by", "undo_reason"])
    IngestionAction.objects.create(
        merge=merge,
        message=merge.message,
        action=IngestionAction.Action.UNDO_MERGE,
        user=merge.undone_by,
        reason=reason,
        detail={"entries": len(moved.get("entries", [])), "nhs_number_returned": bool(number)},
    )
    return merge
