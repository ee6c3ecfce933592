"""Server time of the record pages (summary, first timeline page, results) on the demo population, through
the whole Django stack: session, sign-in, the access check, the queries, the audit write and the template.

Needs `seed_demo` first. Views are made as the demo GP; the access events they write are real ones, in the
trail as that user. A heavy record (by default 20,000 entries, built from the demo's own entries under a
benchmark source key) is measured beside the ordinary demo people of the GP's practice.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.mfa import SESSION_FLAG as MFA_DONE
from records import nhs_numbers
from records.models import Entry, Membership, Person
from records.services import EntryDraft, record_entries_upsert

DEMO_GP = "gp@demo.dcr.local"
HEAVY_NHS_NUMBER_FROM = 9990000100
# Categories that pile up over a long life; the rest (problems, medicines, allergies...) are taken once.
ACCUMULATING = (
    "encounter",
    "appointment",
    "lab_report",
    "lab_result",
    "imaging_report",
    "document",
    "referral",
)
PAGES = (
    ("summary", "portal:person_detail"),
    ("timeline", "portal:person_timeline"),
    ("results", "portal:person_results"),
)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _heavy_nhs_number() -> str:
    number = HEAVY_NHS_NUMBER_FROM
    while not nhs_numbers.is_valid(str(number)):
        number += 1
    return str(number)


def _draft(entry: Entry, person: Person, prefix: str, shift: timedelta) -> EntryDraft:
    return EntryDraft(
        person_id=person.pk,
        category=entry.category,
        resource=entry.resource,
        business_key=f"{prefix}{entry.business_key}",
        source_updated_at=entry.source_updated_at - shift,
        summary=entry.summary,
        subtype=entry.subtype,
        occurred_at=entry.occurred_at - shift if entry.occurred_at else None,
        ended_at=entry.ended_at - shift if entry.ended_at else None,
        review_due_on=entry.review_due_on,
        code_system=entry.code_system,
        code=entry.code,
        code_display=entry.code_display,
        status=entry.status,
        allocated_team=entry.allocated_team,
        sensitivity=entry.sensitivity,
        parent_business_key=f"{prefix}{entry.parent.business_key}" if entry.parent_id else None,
    )


def heavy_person(membership: Membership, size: int, stdout) -> Person:
    """A person registered at the GP's practice with `size` entries: one demo person's current picture, and
    everyone's accumulating history, shifted back a few years per pass so the history is long."""
    person, _ = Person.objects.get_or_create(
        nhs_number=_heavy_nhs_number(),
        defaults={
            "family_name": "Benchmark",
            "given_names": "Heavy Record",
            "date_of_birth": "1940-01-01",
            "gender": Person.Gender.FEMALE,
            "registered_practice": membership.organisation,
        },
    )
    have = Entry.objects.filter(person=person).count()
    if have >= size:
        return person
    richest = (
        Person.objects.filter(registered_practice=membership.organisation)
        .exclude(pk=person.pk)
        .annotate(n=Count("entries"))
        .order_by("-n")
        .first()
    )
    drafts: dict[int, list[EntryDraft]] = defaultdict(list)
    sources = {}
    current = Entry.objects.filter(person=richest).exclude(category__in=ACCUMULATING).select_related("parent")
    for entry in current:
        drafts[entry.source_system_id].append(_draft(entry, person, "benchmark-", timedelta(0)))
        sources[entry.source_system_id] = entry.source_system
    history = list(
        Entry.objects.filter(category__in=ACCUMULATING)
        .exclude(person=person)
        .select_related("parent", "source_system")
        .order_by("id")[: size * 2]
    )
    if not history:
        raise CommandError("The demo population has no history to build the heavy record from.")
    total, passes = sum(len(d) for d in drafts.values()), 0
    while total < size:
        for entry in history:
            if total >= size:
                break
            if entry.parent_id and entry.parent.category not in ACCUMULATING:
                continue
            drafts[entry.source_system_id].append(
                _draft(entry, person, f"benchmark-{passes}-", timedelta(days=3 * 365 * passes))
            )
            sources[entry.source_system_id] = entry.source_system
            total += 1
        passes += 1
    for source_id, group in drafts.items():
        record_entries_upsert(source_system=sources[source_id], drafts=group)
    with connection.cursor() as cursor:  # as autovacuum would soon: plan with the new rows counted
        cursor.execute("ANALYZE records_entry")
    stdout.write(f"Built the heavy record: {Entry.objects.filter(person=person).count()} entries.")
    return person


class Command(BaseCommand):
    help = "Median and p95 server time of the summary, timeline and results pages (needs seed_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--views", type=int, default=200, help="Views of each page for each group")
        parser.add_argument("--entries", type=int, default=20000, help="Entries in the heavy record")
        parser.add_argument("--people", type=int, default=50, help="Ordinary demo people to cycle through")

    def handle(self, *args: Any, views: int, entries: int, people: int, **options: Any) -> None:
        membership = (
            Membership.objects.select_related("user", "organisation", "role")
            .filter(user__email=DEMO_GP)
            .first()
        )
        if membership is None:
            raise CommandError("No demo GP: run `python manage.py seed_demo --people N` first.")
        heavy = heavy_person(membership, entries, self.stdout)
        ordinary = list(
            Person.objects.filter(registered_practice=membership.organisation)
            .exclude(pk=heavy.pk)
            .annotate(n=Count("entries"))
            .order_by("-n")[:people]
        )
        if not ordinary:
            raise CommandError("The demo GP's practice has no registered people.")
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"]):
            client = Client()
            client.force_login(membership.user)
            session = client.session
            session[MFA_DONE] = True  # as after the authenticator code at sign-in
            session.save()
            self._measure(client, f"heavy record ({entries} entries)", [heavy], views)
            mean = statistics.mean(p.n for p in ordinary)
            self._measure(client, f"{len(ordinary)} demo people (mean {mean:.0f} entries)", ordinary, views)

    def _measure(self, client: Client, label: str, people: list[Person], views: int) -> None:
        urls = {name: [reverse(route, args=[p.pk]) for p in people] for name, route in PAGES}
        for name, _ in PAGES:  # warm connections, caches and templates; count the queries once
            for url in urls[name][:5]:
                client.get(url)
        queries = {}
        for name, _ in PAGES:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(urls[name][0])
            if response.status_code != 200:
                raise CommandError(f"{urls[name][0]} answered {response.status_code}")
            queries[name] = len(captured)
        samples: dict[str, list[float]] = {name: [] for name, _ in PAGES}
        cpu: dict[str, list[float]] = {name: [] for name, _ in PAGES}
        for n in range(views):  # interleaved, so load on the machine weighs on every page alike
            for name, _ in PAGES:
                url = urls[name][n % len(people)]
                start, start_cpu = time.perf_counter(), time.process_time()
                client.get(url)
                samples[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.process_time() - start_cpu) * 1000)
        load = os.getloadavg()[0]
        self.stdout.write(f"{label}, {views} views of each page (load average {load:.1f}):")
        for name, _ in PAGES:
            median, p95 = _percentiles(samples[name])
            self.stdout.write(
                f"  {name:>9}: median {median:6.1f} ms, p95 {p95:6.1f} ms, {queries[name]} queries, "
                f"Django's own CPU median {statistics.median(cpu[name]):5.1f} ms"
            )
        self.stdout.write("  (target: summary and timeline median under 50 ms, p95 under 100 ms)")
