"""manage.py benchmark_hl7 --messages N: HL7 v2 over MLLP to a real listener, processed by real workers.

Prints figures; asserts nothing. The listener runs as `manage.py mllp_listen` in its own process; the
processing is done by Celery workers on Redis when REDIS_URL is set, else by the listener's own threads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count

from dcr.celery import app as celery_app
from ingestion.hl7v2.mllp import frame
from ingestion.models import InboundMessage
from ingestion.services.benchmarks import benchmark_source, hl7_messages, percentile
from records.models import Entry, SourceSystem

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Connection:
    """One MLLP connection: send a message, wait for its ACK, note the latency."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def send(self, message: bytes) -> tuple[float, bytes]:
        started = time.perf_counter()
        self.sock.sendall(frame(message))
        while True:
            end = self.buffer.find(b"\x1c\x0d")
            if end >= 0:
                ack = bytes(self.buffer[1:end])
                del self.buffer[: end + 2]
                return time.perf_counter() - started, ack
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the listener closed the connection")
            self.buffer += data

    def close(self) -> None:
        self.sock.close()


def _send_all(
    port: int, messages: list[bytes], connections: int, rate: float | None
) -> tuple[list[float], int]:
    """Send over `connections` connections at once (paced to `rate` messages/s overall, if given)."""
    latencies: list[float] = []
    refused = 0
    lock = threading.Lock()
    shares = [messages[n::connections] for n in range(connections)]
    start = time.perf_counter()

    def run(index: int, share: list[bytes]) -> None:
        nonlocal refused
        conn = _Connection(port)
        mine: list[float] = []
        bad = 0
        try:
            for position, message in enumerate(share):
                if rate:
                    due = start + (position * connections + index) / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                latency, ack = conn.send(message)
                mine.append(latency)
                if b"MSA|AA|" not in ack:
                    bad += 1
        finally:
            conn.close()
        with lock:
            latencies.extend(mine)
            refused += bad

    threads = [threading.Thread(target=run, args=(n, share)) for n, share in enumerate(shares) if share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, refused


class Command(BaseCommand):
    help = (
        "Benchmark HL7 v2 ingestion end to end: ORU^R01 (ten results each) and ADT messages over MLLP to a "
        "real mllp_listen process, processed by real workers. Prints receive and processed messages/s, "
        "ACK latency at a steady 200 messages/s, freshness, and PostgreSQL COPY of the rows as the ceiling."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=5000)
        parser.add_argument("--connections", type=int, default=8, help="concurrent MLLP connections")
        parser.add_argument("--workers", type=int, default=2, help="processing workers (Celery or threads)")
        parser.add_argument("--rate", type=float, default=200.0, help="messages/s for the ACK latency run")
        parser.add_argument(
            "--latency-messages", type=int, default=None, help="default: messages/5, at most 2000"
        )
        parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for processing")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["messages"]
        if count < 1:
            raise CommandError("--messages must be at least 1")
        source = benchmark_source(kind=SourceSystem.Kind.HL7V2)
        with_broker = not celery_app.conf.task_always_eager
        run_start = datetime.now(UTC)
        run = uuid.uuid4().hex[:5].upper()
        messages = hl7_messages(count, people=max(1, count // 4), run=run + "F", start=run_start)
        latency_count = options["latency_messages"] or max(1, min(2000, count // 5))
        paced = hl7_messages(latency_count, people=max(1, count // 4), run=run + "P", start=run_start)
        oru = sum(1 for m in messages if b"|ORU^R01" in m)
        self.stdout.write(
            f"{count} messages ({oru} ORU^R01 with 10 results, {count - oru} ADT); "
            f"processing by {'Celery workers on Redis' if with_broker else 'threads in the listener'} "
            f"x{options['workers']}"
        )
        port = _free_port()
        processes = self._start(port, options["workers"], with_broker)
        try:
            self._wait_for_port(port, processes[0])
            self._measure(source, port, messages, paced, options, run_start)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _start(self, port: int, workers: int, with_broker: bool) -> list[subprocess.Popen]:
        # As deployed: DEBUG off (it logs every query), the same database and broker as this process.
        env = {**os.environ, "DCR_EMBEDDED_AUTOSTART": "0", "DJANGO_DEBUG": "0"}
        env.setdefault("DJANGO_SETTINGS_MODULE", "dcr.settings.local")
        env["DATABASE_URL"] = _database_url(connection.settings_dict)
        # Work of its own on a shared Redis: no other worker takes these tasks.
        env["DCR_CELERY_QUEUE"] = f"benchmark-{uuid.uuid4().hex[:8]}"
        listener_workers = 0 if with_broker else workers
        logs = ROOT / "var" / "benchmark-logs"
        logs.mkdir(parents=True, exist_ok=True)
        listener = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "mllp_listen",
                "--port",
                str(port),
                "--workers",
                str(listener_workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "mllp_listen.log", "w"),  # noqa: SIM115 - lives as long as the process
            stderr=subprocess.STDOUT,
        )
        processes = [listener]
        if with_broker:
            queue = env["DCR_CELERY_QUEUE"]
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "dcr",
                        "worker",
                        "--pool=prefork",
                        f"--concurrency={workers}",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "--loglevel=WARNING",
                        "-Q",
                        queue,
                        "-n",
                        f"{queue}@%h",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=open(logs / "celery.log", "w"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
        return processes

    def _wait_for_port(self, port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError("mllp_listen exited: see var/benchmark-logs/mllp_listen.log")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError("mllp_listen did not start listening")

    def _measure(self, source, port, messages, paced, options, run_start) -> None:
        count = len(messages)
        ours = InboundMessage.objects.filter(source_system=source, received_at__gte=run_start)
        # 1. As fast as the senders can go: receive rate, and how long until everything is in the record.
        started = time.perf_counter()
        latencies, refused = _send_all(port, messages, options["connections"], None)
        received_in = time.perf_counter() - started
        deadline = time.monotonic() + options["timeout"]
        while ours.filter(status__in=InboundMessage.UNFINISHED).exists() or ours.count() < count:
            if time.monotonic() > deadline:
                self.stdout.write(self.style.WARNING("gave up waiting for processing"))
                break
            time.sleep(0.05)
        processed_in = time.perf_counter() - started
        statuses = dict(ours.values_list("status").annotate(n=Count("id")))
        freshness = [
            (done - received).total_seconds()
            for received, done in ours.exclude(processed_at=None).values_list("received_at", "processed_at")
        ]
        oru = sum(1 for m in messages if b"|ORU^R01" in m)
        self._figure(
            "receive (stored and ACKed)",
            f"{count / received_in:,.0f} msgs/s",
            f"{count} in {received_in:.2f} s",
        )
        self._figure(
            "end to end (received -> in the record)",
            f"{count / processed_in:,.0f} msgs/s",
            f"{oru / processed_in:,.0f} ORU/s; statuses {statuses}",
        )
        self._figure(
            "ACK latency at full speed",
            f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms",
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms; {refused} not AA",
        )
        self._figure(
            "freshness (received -> visible)",
            f"p95 {percentile(freshness, 0.95) * 1000:,.0f} ms",
            f"p50 {percentile(freshness, 0.5) * 1000:,.0f} ms",
        )
        # 2. A steady rate: the ACK latency a sender sees in ordinary running.
        rate = options["rate"]
        paced_latencies, _ = _send_all(port, paced, min(4, options["connections"]), rate)
        self._figure(
            f"ACK latency at {rate:.0f} msgs/s",
            f"p50 {percentile(paced_latencies, 0.5) * 1000:.1f} ms",
            f"p99 {percentile(paced_latencies, 0.99) * 1000:.1f} ms over {len(paced_latencies)} messages",
        )
        # 3. The ceiling: PostgreSQL's COPY of the entry rows this run produced, into a scratch table.
        rows, seconds = _copy_ceiling(source, run_start)
        if rows:
            per_message = rows / count
            self._figure(
                "ceiling: COPY of the resulting rows",
                f"{rows / seconds:,.0f} rows/s",
                f"{rows / seconds / per_message:,.0f} msgs/s at {per_message:.1f} rows a message",
            )

    def _figure(self, name: str, value: str, detail: str = "") -> None:
        self.stdout.write(f"{name:<42} {value:>16}   {detail}")


def _copy_ceiling(source: SourceSystem, since: datetime) -> tuple[int, float]:
    rows = Entry.objects.filter(source_system=source, updated_at__gte=since)
    ids = list(rows.values_list("id", flat=True))
    if not ids:
        return 0, 0.0
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own: COPY with parameters
        buffer = bytearray()
        with cursor.copy("COPY (SELECT * FROM records_entry WHERE id = ANY(%s)) TO STDOUT", (ids,)) as copy:
            for data in copy:
                buffer += data
        cursor.execute("CREATE TEMPORARY TABLE bench_entry_copy (LIKE records_entry)")
        started = time.perf_counter()
        with cursor.copy("COPY bench_entry_copy FROM STDIN") as copy:
            copy.write(bytes(buffer))
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_entry_copy")
    return len(ids), seconds


def _database_url(settings_dict: dict) -> str:
    host = settings_dict["HOST"] or "localhost"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    if host.startswith("/"):
        return (
            f"postgres://{settings_dict['USER']}{password}@/{settings_dict['NAME']}"
            f"?host={host}&port={settings_dict['PORT'] or 5432}"
        )
    port = settings_dict["PORT"] or 5432
    return f"postgres://{settings_dict['USER']}{password}@{host}:{port}/{settings_dict['NAME']}"
