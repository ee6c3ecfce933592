"""manage.py benchmark_fhir --patients N: whole-patient transaction Bundles through the FHIR endpoint.

Each bundle is one of the corpus's synthetic whole-patient bundles (Synthea: several hundred entries,
1-2 MB), re-identified as a new person. It is posted to POST /ingest/fhir/ in this process, through the
view, the ledger and the pipeline, on the real PostgreSQL. Prints figures; asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.test import Client
from django.urls import reverse

from ingestion.services.benchmarks import (
    benchmark_source,
    corpus_dir,
    percentile,
    whole_patient_bundle,
    whole_patient_templates,
)
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
            "--clients", type=int, default=1, help="senders at once, each a process (as web workers would be)"
        )
        parser.add_argument(
            "--fixtures",
            default=None,
            help="the sample corpus (default: DCR_FIXTURES_DIR or ../shared/fixtures)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, clients = options["patients"], max(1, options["clients"])
        if count < 1:
            raise CommandError("--patients must be at least 1")
        fixtures = corpus_dir(options["fixtures"])
        if not whole_patient_templates(fixtures):
            raise CommandError(f"no whole-patient bundles under {fixtures / 'fhir-r4' / 'synthea'}")
        source = benchmark_source(kind=SourceSystem.Kind.FHIR)
        token = source_system_token_issue(source=source)
        run = uuid.uuid4().hex[:8]
        shares = [list(range(n, count, clients)) for n in range(clients)]
        if clients == 1:
            results = [_send(token, fixtures, run, shares[0], None)]
        else:
            # Each sender is a forked process with its own database connection.
            connections.close_all()
            context = multiprocessing.get_context("fork")
            barrier = context.Barrier(clients)
            queue = context.Queue()
            processes = [
                context.Process(target=_child, args=(queue, token, fixtures, run, share, barrier))
                for share in shares
            ]
            for process in processes:
                process.start()
            results = [queue.get() for _ in processes]
            for process in processes:
                process.join()
        sent = sum(r["sent"] for r in results)
        stored = sum(r["stored"] for r in results)
        refused = sum(r["refused"] for r in results)
        size = sum(r["size"] for r in results)
        seconds = [x for r in results for x in r["seconds"]]
        total = max(r["end"] for r in results) - min(r["start"] for r in results)
        for problem in (p for r in results for p in r["problems"]):
            self.stderr.write(problem)
        self.stdout.write(
            f"{count} whole-patient bundles, {sent:,} entries, {size / 1e6:,.1f} MB, {clients} sender(s); "
            f"{refused} refused"
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


def _send(token: str, fixtures: Path, run: str, indexes: list[int], barrier: Any) -> dict[str, Any]:
    """Post these patients' bundles one after another; the bundles are made before the clock starts."""
    templates = whole_patient_templates(fixtures)
    bodies = [whole_patient_bundle(templates[i % len(templates)], index=i, run=run) for i in indexes]
    client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."))
    url = reverse("ingestion:fhir_bundle_receive")
    result: dict[str, Any] = {"sent": 0, "stored": 0, "refused": 0, "size": 0, "seconds": [], "problems": []}
    if barrier is not None:
        barrier.wait()
    result["start"] = time.perf_counter()
    for body in bodies:
        started = time.perf_counter()
        response = client.post(
            url, data=body, content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        result["seconds"].append(time.perf_counter() - started)
        result["size"] += len(body)
        if response.status_code != 200:
            result["refused"] += 1
            result["problems"].append(f"bundle refused ({response.status_code}): {response.content[:300]!r}")
            continue
        for entry in response.json()["entry"]:
            result["sent"] += 1
            result["stored"] += entry["response"]["status"].startswith("201")
    result["end"] = time.perf_counter()
    if barrier is not None:
        connections.close_all()
    return result


def _child(queue: Any, *args: Any) -> None:
    queue.put(_send(*args))
