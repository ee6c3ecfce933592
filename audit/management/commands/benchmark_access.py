"""How much the one door costs a record view: the permission check and the audit write, against the
same reads without them. Prints medians and 95th percentiles in milliseconds."""

import statistics
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from audit.models import AccessEvent
from records.access import Actor, entry_list_visible_to, person_for, person_shown
from records.models import Entry, EntryCategory, Membership, Organisation, Person, Role, SourceSystem, User
from records.services import EntryDraft, record_entries_upsert

PRACTICE_ODS = "BENCH1"  # not an ODS code: the benchmark's own organisation, easy to find and remove


def _setup(entries: int) -> tuple[Actor, Person]:
    practice, _ = Organisation.objects.get_or_create(
        ods_code=PRACTICE_ODS,
        defaults={
            "name": "Benchmark Surgery",
            "kind": Organisation.Kind.GP_PRACTICE,
            "sharing_agreement_from": timezone.localdate() - timedelta(days=1),
        },
    )
    source, _ = SourceSystem.objects.get_or_create(
        code="benchmark-gp",
        defaults={
            "organisation": practice,
            "name": "Benchmark GP system",
            "kind": SourceSystem.Kind.FHIR,
            "mode": SourceSystem.Mode.LIVE,
        },
    )
    role, _ = Role.objects.get_or_create(
        code="benchmark-gp",
        defaults={
            "name": "Benchmark GP",
            "categories": [c.value for c in EntryCategory],
            "is_clinical": True,
        },
    )
    user, _ = User.objects.get_or_create(
        username="benchmark-access",
        defaults={
            "email": "benchmark-access@dcr.invalid",
            "first_name": "Benchmark",
            "last_name": "(access)",
        },
    )
    Membership.objects.get_or_create(user=user, organisation=practice, role=role)
    # As the portal loads it: with its organisation and role.
    membership = Membership.objects.select_related("organisation", "role").get(
        user=user, organisation=practice
    )
    person, _ = Person.objects.get_or_create(
        nhs_number="9990000026",
        defaults={"family_name": "Benchmark", "given_names": "Access", "registered_practice": practice},
    )
    categories = list(EntryCategory)
    now = timezone.now()
    drafts = [
        EntryDraft(
            person_id=person.pk,
            category=categories[n % len(categories)],
            business_key=f"bench-{n}",
            source_updated_at=now - timedelta(days=n),
            occurred_at=now - timedelta(days=n),
            summary=f"Benchmark entry {n}",
            resource={"resourceType": "Basic", "code": {"text": "benchmark"}},
        )
        for n in range(entries)
    ]
    record_entries_upsert(source_system=source, drafts=drafts)
    return Actor(user=user, membership=membership, client_ip="127.0.0.1", session_ref="benchmark"), person


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


class Command(BaseCommand):
    help = "Measure the permission check and audit write per record view (writes events as a benchmark user)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--views", type=int, default=500)
        parser.add_argument("--entries", type=int, default=200, help="Entries shown per view")

    def handle(self, *args: Any, views: int, entries: int, **options: Any) -> None:
        actor, person = _setup(entries)

        def plain() -> None:
            with transaction.atomic():
                found = Person.objects.get(pk=person.pk)
                list(Entry.objects.filter(person=found).newest_first()[:entries])

        def through_the_door() -> None:
            actor.memo.clear()  # each view is a new request: nothing remembered from the last
            with transaction.atomic():
                found, basis = person_for(
                    actor=actor, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD
                )
                shown = list(entry_list_visible_to(actor=actor, person=found).newest_first()[:entries])
                person_shown(
                    actor=actor,
                    person=found,
                    basis=basis,
                    action=AccessEvent.Action.VIEW_RECORD,
                    detail={"page": "benchmark", "entries": [e.pk for e in shown]},
                )

        for _ in range(20):  # warm caches and connections
            plain()
            through_the_door()
        # Interleaved, so that whatever else the machine is doing weighs on both alike.
        without, through, paired = [], [], []
        for _ in range(views):
            start = time.perf_counter()
            plain()
            middle = time.perf_counter()
            through_the_door()
            end = time.perf_counter()
            without.append((middle - start) * 1000)
            through.append((end - middle) * 1000)
            paired.append(through[-1] - without[-1])
        for name, samples in (("without the door", without), ("through the door", through)):
            median, p95 = _percentiles(samples)
            self.stdout.write(f"{name:>18}: median {median:.2f} ms, p95 {p95:.2f} ms")
        median, p95 = _percentiles(paired)
        self.stdout.write(
            f"{'overhead':>18}: median {median:.2f} ms, p95 {p95:.2f} ms per view "
            f"({views} views of {entries} entries; target: median under 5 ms)"
        )
