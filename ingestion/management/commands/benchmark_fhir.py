"""manage.py benchmark_fhir --patients N: whole-patient transaction Bundles through the FHIR endpoint.

Each bundle is one of the corpus's synthetic whole-patient bundles (Synthea: several hundred entries,
1-2 MB), re-identified as a new person. It is posted to POST /ingest/fhir/ in this process, through the
view, the ledger and the pipeline, on the real PostgreSQL. Prints figures; asserts nothing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.urls import reverse

from ingestion.services.benchmarks import benchmark_source, corpus_dir, percentile, whole_patient_bundles
from ingestion.services.sources import source_system_token_issue
from records.models import SourceSystem


class Command(BaseCommand):
    help = (
        "Benchmark FHIR ingestion: N whole-patient transaction Bundles (Synthea, re-identified) posted to "
        "the FHIR endpoint in this process. Prints resources/s (entries sent and entries stored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=20)
        parser.add_argument(
            "--fixtures",
            default=None,
            help="the sample corpus (default: DCR_FIXTURES_DIR or ../shared/fixtures)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["patients"]
        if count < 1:
            raise CommandError("--patients must be at least 1")
        source = benchmark_source(kind=SourceSystem.Kind.FHIR)
        token = source_system_token_issue(source=source)
        client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."))
        url = reverse("ingestion:fhir_bundle_receive")
        run = uuid.uuid4().hex[:8]
        sent = stored = unchanged = refused = size = 0
        seconds: list[float] = []
        total = 0.0
        try:
            bundles = whole_patient_bundles(corpus_dir(options["fixtures"]), count, run=run)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        for body in bundles:
            started = time.perf_counter()
            response = client.post(
                url, data=body, content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            elapsed = time.perf_counter() - started
            total += elapsed
            seconds.append(elapsed)
            size += len(body)
            if response.status_code != 200:
                refused += 1
                self.stderr.write(f"bundle refused ({response.status_code}): {response.content[:300]!r}")
                continue
            for entry in response.json()["entry"]:
                sent += 1
                status = entry["response"]["status"]
                if status.startswith("201"):
                    stored += 1
                elif status.startswith("200") and "outcome" not in entry["response"]:
                    unchanged += 1
        self.stdout.write(
            f"{count} whole-patient bundles, {sent:,} entries, {size / 1e6:,.1f} MB; {refused} refused"
        )
        self._figure("resources/s (entries sent)", f"{sent / total:,.0f}", f"{sent} in {total:.2f} s")
        self._figure("resources/s (entries stored)", f"{stored / total:,.0f}", f"{stored} created")
        self._figure(
            "seconds a bundle",
            f"p50 {percentile(seconds, 0.5):.2f} s",
            f"p95 {percentile(seconds, 0.95):.2f} s; {size / count / 1e6:.1f} MB a bundle",
        )

    def _figure(self, name: str, value: str, detail: str = "") -> None:
        self.stdout.write(f"{name:<32} {value:>16}   {detail}")
