"""`manage.py mllp_listen` as a real process on a real socket: ACKs, durable before the ACK, bad framing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from hl7.client import MLLPClient

from ingestion.hl7v2 import split_messages
from ingestion.hl7v2.mllp import frame, mllp_send
from ingestion.models import InboundMessage
from ingestion.services.benchmarks import HL7_APPLICATION, benchmark_source, oru_r01
from records.models import Entry, SourceSystem
from tests.corpus import fixtures_dir
from tests.records.factories import OrganisationFactory, SourceSystemFactory
from tests.services import ROOT, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)


class Listener:
    def __init__(self, *args: str, **env_extra: str):
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dcr.settings.test",
            "DATABASE_URL": database_url(connection.settings_dict),
            "DCR_EMBEDDED_AUTOSTART": "0",
            **env_extra,
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "mllp_listen", "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.first_line = self.process.stdout.readline()
        assert "MLLP listening" in self.first_line, self.first_line + self.process.stdout.read()

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return self.process.returncode, out


@pytest.fixture
def listener():
    running = Listener("--workers", "2")
    yield running
    running.stop()


def ack_code(ack: bytes) -> str:
    msa = next(segment for segment in ack.split(b"\r") if segment.startswith(b"MSA"))
    return msa.split(b"|")[1].decode()


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_messages_are_acknowledged_stored_and_processed(listener):
    source = benchmark_source(kind=SourceSystem.Kind.HL7V2)
    now = datetime.now(UTC)
    messages = [oru_r01(sequence=n, patient=n, at=now) for n in range(5)]

    acks = mllp_send("127.0.0.1", listener.port, messages)

    assert [ack_code(ack) for ack in acks] == ["AA"] * 5
    stored = InboundMessage.objects.filter(source_system=source)
    assert stored.count() == 5  # each was written before its ACK was sent
    assert sorted(bytes(m.payload) for m in stored) == sorted(messages)
    wait_for(lambda: not stored.filter(status__in=["received", "processing"]).exists())
    assert set(stored.values_list("status", flat=True)) == {"applied"}
    assert Entry.objects.filter(source_system=source, resource_type="Observation").count() == 50


def test_python_hl7s_client_gets_an_ack_for_a_public_sample(listener):
    path = fixtures_dir() / "hl7v2/simhospital/messages.out"
    first = split_messages(path.read_bytes())[0]
    SourceSystemFactory(
        organisation=OrganisationFactory(ods_code="SIM01"),
        kind=SourceSystem.Kind.HL7V2,
        hl7_sending_application="SIMHOSP",
        hl7_sending_facility="SFAC",
    )

    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = client.send_message(first)

    assert b"MSA|AA|" in ack
    assert InboundMessage.objects.get().control_id == "1"


def test_a_message_is_durable_before_its_ack_even_if_the_listener_dies_at_once():
    benchmark_source(kind=SourceSystem.Kind.HL7V2)
    # No processing threads: the message must be in the ledger, waiting, when the process is killed.
    running = Listener("--workers", "0")
    message = oru_r01(sequence=99, patient=1, at=datetime.now(UTC))

    [ack] = mllp_send("127.0.0.1", running.port, [message])
    running.process.kill()
    running.process.wait(timeout=10)

    assert ack_code(ack) == "AA"
    stored = InboundMessage.objects.get()
    assert bytes(stored.payload) == message
    assert stored.status == InboundMessage.Status.RECEIVED


def test_bad_framing_is_rejected_with_an_ar_and_kept_as_failed(listener):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(b"MSH|^~\\&|X|Y|||20260101||ADT^A01|1|P|2.5\r" + b"\x1c\r")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk

    assert reply.startswith(b"\x0b")
    assert reply.endswith(b"\x1c\r")
    assert ack_code(reply[1:-2]) == "AR"
    assert b"0x0B" in reply
    failed = wait_for(lambda: InboundMessage.objects.filter(status="failed").first())
    assert "start block" in failed.error


def test_an_unknown_sender_is_rejected_with_the_reason(listener):
    message = oru_r01(sequence=1, patient=1, at=datetime.now(UTC)).replace(HL7_APPLICATION.encode(), b"WHO")

    [ack] = mllp_send("127.0.0.1", listener.port, [message])

    assert ack_code(ack) == "AR"
    assert b"unknown sender" in ack


def test_many_connections_at_once(listener):
    benchmark_source(kind=SourceSystem.Kind.HL7V2)
    now = datetime.now(UTC)
    socks = [socket.create_connection(("127.0.0.1", listener.port), timeout=10) for _ in range(20)]
    try:
        for n, sock in enumerate(socks):
            sock.sendall(frame(oru_r01(sequence=1000 + n, patient=n, at=now)))
        replies = []
        for sock in socks:
            data = b""
            while not data.endswith(b"\x1c\r"):
                data += sock.recv(65536)
            replies.append(ack_code(data[1:-2]))
    finally:
        for sock in socks:
            sock.close()

    assert replies == ["AA"] * 20
    assert InboundMessage.objects.count() == 20


def test_sigterm_stops_it_cleanly(listener):
    code, out = listener.stop()

    assert code == 0
    assert "MLLP listener stopped" in out


@pytest.mark.services
def test_with_a_broker_the_celery_workers_process_what_the_listener_stored(celery_worker):
    source = benchmark_source(kind=SourceSystem.Kind.HL7V2)
    running = Listener(
        DJANGO_SETTINGS_MODULE="dcr.settings.base",
        REDIS_URL=celery_worker.redis_url,
        DCR_CELERY_QUEUE=celery_worker.queue,
    )
    try:
        assert "processing by Celery workers" in running.first_line
        now = datetime.now(UTC)
        acks = mllp_send(
            "127.0.0.1", running.port, [oru_r01(sequence=n, patient=n, at=now) for n in range(30)]
        )

        assert [ack_code(ack) for ack in acks] == ["AA"] * 30
        stored = InboundMessage.objects.filter(source_system=source)
        wait_for(lambda: stored.filter(status="applied").count() == 30, timeout=60)
        assert Entry.objects.filter(source_system=source, resource_type="Observation").count() == 300
    finally:
        running.stop()
