"""manage.py ingest FILE... : HL7 v2, FHIR (JSON, XML, NDJSON) and CSV files through the same pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion.services import apply
from ingestion.services import files as file_services
from records.models import SourceSystem


class Command(BaseCommand):
    help = (
        "Store and process files: HL7 v2 (one or many messages per file), FHIR R4 JSON, XML or NDJSON, and "
        "social care CSV extracts. HL7 v2 senders are recognised by MSH-3/MSH-4 unless --source is given; "
        "FHIR and CSV files need --source."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--source", metavar="CODE", help="The source system's code (see Django admin).")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, files: list[str], source: str | None = None, json: bool = False, **options):
        paths = files
        source_system = None
        if source:
            try:
                source_system = SourceSystem.objects.select_related("organisation").get(code=source)
            except SourceSystem.DoesNotExist:
                raise CommandError(f"no source system has the code {source!r}") from None
        reports = []
        for path in paths:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from None
            reports.append(file_services.file_receive(name=path, data=data, source_system=source_system))
        ids = [pk for report in reports for pk in report.message_ids]
        # The bar counts messages for HL7 v2 and items (resources, rows) for FHIR and CSV files.
        with tqdm(total=None, unit="item", disable=None, desc="ingest", leave=False) as bar:
            apply.messages_process(ids, progress=bar.update)
        summary = file_services.summarise(reports)
        if json:
            self.stdout.write(_dumps(summary))
            return
        self._print(summary)

    def _print(self, summary):
        self.stdout.write(
            "{messages} message(s) from {files} file(s): {accepted} accepted, {rejected} rejected, "
            "{held} held for review, {duplicates} duplicate(s), {dropped} dropped (opted out)".format(
                **summary
            )
        )
        entries = summary["entries"]
        self.stdout.write(
            f"entries: {entries['created']} created, {entries['updated']} updated, "
            f"{entries['skipped']} unchanged"
        )
        for reason in summary["reasons"]:
            where = f" [{reason['location']}]" if reason.get("location") else ""
            ident = f" message {reason['message_id']}" if reason.get("message_id") else ""
            self.stdout.write(f"  {reason['status']}: {reason['file']}{ident}{where}: {reason['reason']}")


def _dumps(value) -> str:
    return json.dumps(value, indent=2, default=str)
