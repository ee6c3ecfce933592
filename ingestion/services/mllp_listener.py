"""The MLLP listener as a service: receive HL7 v2, store each message durably, then ACK; process elsewhere.

Processing never sits between a message and its ACK. With a broker (REDIS_URL) the listener queues work for
the Celery workers, one task per batch of new messages rather than one per message: a task per message
claims whatever little is waiting when it runs, so batches stay small and the per-task cost dominates (a
quarter of the throughput, measured with benchmark_hl7). Without a broker, `workers` threads in this
process take what is waiting, woken as each message is stored. A message that fails framing is kept in
the ledger as failed, with the reason.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from ingestion.hl7v2.mllp import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, MllpServer
from ingestion.models import InboundMessage
from ingestion.services.apply import batch_size, messages_process_pending
from ingestion.services.ledger import hl7_receive, message_receive

logger = logging.getLogger(__name__)


@dataclass
class MllpListener:
    host: str
    port: int
    # Threads processing here; 0 when Celery workers do it.
    workers: int = 0
    enqueue: bool = True
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = 256
    _wake: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    # Messages stored since work was last queued for Celery.
    _new: int = 0
    _new_lock: threading.Lock = field(default_factory=threading.Lock)
    _queue_wake: threading.Event = field(default_factory=threading.Event)
    # How long new messages gather before one task is queued for them: the price in freshness of batching.
    queue_window: float = 0.02
    server: MllpServer | None = None

    def start(self) -> MllpListener:
        self.server = MllpServer(
            self.host,
            self.port,
            self._handle,
            max_message_bytes=self.max_message_bytes,
            idle_timeout=self.idle_timeout,
            max_connections=self.max_connections,
            on_reject=self._rejected,
        )
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"ingest-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.enqueue:
            thread = threading.Thread(target=self._queue_work, name="ingest-enqueue", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.server.start()
        self._wake.set()  # take whatever was left waiting by the last run
        return self

    @property
    def bound_port(self) -> int:
        assert self.server is not None
        return self.server.port

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking connections, let the workers finish the batch in hand, and close."""
        if self.server is not None:
            self.server.stop()
        self._stopping.set()
        self._wake.set()
        self._queue_wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _handle(self, raw: bytes, peer: str) -> bytes:
        try:
            return hl7_receive(raw, peer=peer, enqueue=False)
        finally:
            if self.workers:
                self._wake.set()
            if self.enqueue:
                with self._new_lock:
                    self._new += 1
                self._queue_wake.set()

    def _queue_work(self) -> None:
        """Queue one Celery task per batch of messages stored in the last window; the periodic sweep
        still picks up anything waiting should the broker be unreachable."""
        from ingestion import tasks

        while True:
            self._queue_wake.wait()
            time.sleep(self.queue_window)
            with self._new_lock:
                new, self._new = self._new, 0
                self._queue_wake.clear()
            for _ in range(math.ceil(new / batch_size())):
                try:
                    tasks.messages_process_pending_task.delay()
                except Exception:
                    logger.exception("could not queue processing; the sweep will process what waits")
                    break
            if self._stopping.is_set():
                return

    def _rejected(self, raw: bytes, peer: str, reason: str) -> None:
        message_receive(
            channel=InboundMessage.Channel.MLLP,
            payload=raw,
            format=InboundMessage.Format.HL7V2,
            peer=peer,
            status=InboundMessage.Status.FAILED,
            error=reason,
            error_location="MLLP",
        )

    def _work(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                while not self._stopping.is_set():
                    close_old_connections()
                    try:
                        done = messages_process_pending(limit=batch_size())
                    except Exception:
                        logger.exception("processing waiting messages failed; trying again shortly")
                        self._stopping.wait(1.0)
                        break
                    if not done:
                        break
        finally:
            connection.close()
