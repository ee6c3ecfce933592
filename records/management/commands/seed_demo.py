"""`manage.py seed_demo --people N`: the synthetic population for the demo, the tests and the benchmarks."""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from records.demo.people import MAX_PEOPLE
from records.demo.services import (
    demo_population_build,
    demo_population_counts,
    demo_users_sync,
)
from records.services import UpsertOutcome

DEFAULT_SEED = 20260101


class Command(BaseCommand):
    help = (
        "Build the demo population: organisations, N people with their records across every source, and one "
        "demo user per role. Safe to run again: the same seed and date change nothing; a larger N only adds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=1000, help="How many people (default 1000).")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Another seed, another population."
        )
        parser.add_argument("--batch", type=int, default=500, help="People per transaction (default 500).")
        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="Processes building batches side by side (default: up to 2).",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="The day the records run up to (default today); histories and ages are relative to it.",
        )

    def handle(
        self, *args: Any, people: int, seed: int, batch: int, workers: int, as_of: date | None, **options: Any
    ) -> None:
        if not 0 <= people <= MAX_PEOPLE:
            raise CommandError(f"--people must be between 0 and {MAX_PEOPLE}")
        started = time.monotonic()
        as_of = as_of or timezone.localdate()
        with tqdm(total=people, unit="people", disable=options["verbosity"] == 0) as progress:
            totals = demo_population_build(
                people=people,
                seed=seed,
                as_of=as_of,
                batch_size=batch,
                workers=workers,
                progress=progress.update,
            )
        users = demo_users_sync()
        seconds = time.monotonic() - started
        total_people, by_category, organisations = demo_population_counts()

        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo population as of {as_of} (seed {seed}) in {seconds:.1f} s"))
        write(
            f"People: {total_people} in the record "
            f"({totals.people_created} added, {totals.people_updated} updated by this run)"
        )
        added, updated, unchanged = (totals.entries[o] for o in UpsertOutcome)
        write(
            f"Entries: {sum(by_category.values())} in the record "
            f"({added} added, {updated} updated, {unchanged} unchanged by this run)"
        )
        for category, count in sorted(by_category.items(), key=lambda item: -item[1]):
            write(f"  {category:<16} {count:>9}")
        write(f"Organisations: {organisations}")
        write("")
        write("Demo users (demo only: one shared password, reset by every run):")
        widths = [max(len(getattr(u, f)) for u in users) for f in ("email", "password", "role")]
        for user in users:
            where = f"{user.organisation}" + (f" - {user.team}" if user.team else "")
            write(
                f"  {user.email:<{widths[0]}}  {user.password:<{widths[1]}}"
                f"  {user.role:<{widths[2]}}  {where}"
            )
