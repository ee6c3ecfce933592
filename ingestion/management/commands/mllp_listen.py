"""python manage.py mllp_listen --host 127.0.0.1 --port 2575 [--workers N]"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dcr.celery import app as celery_app
from ingestion.hl7v2.mllp import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES
from ingestion.services.mllp_listener import MllpListener


class Command(BaseCommand):
    help = (
        "Receive HL7 v2 over MLLP on many connections at once: each message is stored durably, then "
        "acknowledged. Processing: Celery workers when REDIS_URL is set, else --workers threads here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575, help="0: any free port (printed)")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processing threads in this process (default: 0 with a broker, 2 without)",
        )
        parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES)
        parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT, help="seconds")
        parser.add_argument("--max-connections", type=int, default=256)

    def handle(self, *args: Any, **options: Any) -> None:
        with_broker = not celery_app.conf.task_always_eager
        workers = options["workers"]
        if workers is None:
            workers = 0 if with_broker else 2
        listener = MllpListener(
            host=options["host"],
            port=options["port"],
            workers=workers,
            # Without a broker a queued task would run inline, before the ACK: the threads here do it.
            enqueue=with_broker,
            max_message_bytes=options["max_message_bytes"],
            idle_timeout=options["idle_timeout"],
            max_connections=options["max_connections"],
        ).start()
        stop = threading.Event()

        def shut_down(signum: int, _frame: object) -> None:
            self.stdout.write(f"{signal.Signals(signum).name}: stopping")
            stop.set()

        signal.signal(signal.SIGTERM, shut_down)
        signal.signal(signal.SIGINT, shut_down)
        processing = "Celery workers" if with_broker and not workers else f"{workers} thread(s) here"
        self.stdout.write(
            f"MLLP listening on {options['host']}:{listener.bound_port}; processing by {processing}",
        )
        self.stdout.flush()
        while not stop.wait(1.0):
            pass
        listener.stop()
        self.stdout.write("MLLP listener stopped")
