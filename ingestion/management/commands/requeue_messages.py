"""manage.py requeue_messages: put failed (or held) messages back on the queue, and recover stale claims."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from ingestion import tasks
from ingestion.models import InboundMessage
from ingestion.services import apply, review


class Command(BaseCommand):
    help = (
        "Requeue messages: those whose worker died mid-processing (always), and failed or held ones chosen "
        "by status, source or id. Each requeue is recorded. Then the workers are told, or with --now the "
        "messages are processed here."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--status", choices=["failed", "held"], action="append", help="Requeue messages in this state."
        )
        parser.add_argument("--source", metavar="CODE", help="Only this source system's messages.")
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", metavar="ID", help="These messages."
        )
        parser.add_argument("--reason", default="requeued with manage.py requeue_messages")
        parser.add_argument(
            "--stale-after", type=int, metavar="SECONDS", help="A claim older than this is a dead worker's."
        )
        parser.add_argument("--now", action="store_true", help="Process here instead of through the workers.")

    def handle(
        self, *args, status=None, source=None, ids=None, reason="", stale_after=None, now=False, **options
    ):
        swept = apply.messages_sweep(
            stale_after=timedelta(seconds=stale_after) if stale_after is not None else None
        )
        self.stdout.write(
            f"{swept['requeued']} message(s) left by a stopped worker requeued, "
            f"{swept['failed']} failed after the maximum attempts"
        )
        if status or ids or source:
            queryset = InboundMessage.objects.all()
            if status:
                queryset = queryset.filter(status__in=status)
            if ids:
                queryset = queryset.filter(id__in=ids)
            if source:
                if (
                    not queryset.model._meta.get_field("source_system")
                    .related_model.objects.filter(code=source)
                    .exists()
                ):
                    raise CommandError(f"no source system has the code {source!r}")
                queryset = queryset.filter(source_system__code=source)
            count = review.messages_requeue(queryset=queryset, reason=reason)
            self.stdout.write(f"{count} failed or held message(s) requeued")
        waiting = InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).count()
        if not waiting:
            return
        if now:
            done = 0
            while True:
                processed = apply.messages_process_pending(limit=10_000)
                done += processed
                if not processed:
                    break
            self.stdout.write(f"{done} message(s) processed")
        else:
            tasks.messages_sweep_task.delay()
            self.stdout.write(f"{waiting} message(s) waiting; the workers have been told")
