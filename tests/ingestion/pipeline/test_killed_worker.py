"""A real Celery worker killed mid-batch loses nothing: on restart every message ends stored once, or failed
with a reason, and the counts reconcile exactly."""

import time

import pytest

from ingestion import tasks
from ingestion.models import InboundMessage
from ingestion.services import benchmarks, ledger
from records.models import Entry, Person
from tests.corpus import fixtures_dir

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BUNDLES = 6


@pytest.fixture
def quick_recovery(monkeypatch):
    """The worker's settings: a claim older than a second is stale, and retries wait for nothing."""
    monkeypatch.setenv("DCR_INGEST_CLAIM_TIMEOUT", "1")
    monkeypatch.setenv("DCR_INGEST_RETRY_SECONDS", "0")


def wait_for(condition, timeout: float = 180.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def statuses(ids) -> dict[int, str]:
    return dict(InboundMessage.objects.filter(id__in=ids).values_list("id", "status"))


def test_a_worker_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
    quick_recovery, celery_worker, fhir_source
):
    bodies = list(benchmarks.whole_patient_bundles(fixtures_dir(), BUNDLES, run="killed"))
    ids = [
        ledger.message_receive(
            channel="http", payload=body, format="fhir-json", source_system=fhir_source, enqueue=False
        ).pk
        for body in bodies
    ]
    tasks.message_process_task.delay(ids[0])

    # Kill the worker while it is inside the batch: some bundles written, one being written.
    wait_for(lambda: "applied" in statuses(ids).values() and "processing" in statuses(ids).values())
    celery_worker.kill()
    after_kill = statuses(ids)
    interrupted = [pk for pk, status in after_kill.items() if status == "processing"]
    assert interrupted
    # What the killed worker was writing was rolled back with its transaction.
    assert not Entry.objects.filter(provenance__message_id__in=interrupted).exists()

    celery_worker.start()
    time.sleep(1.1)
    tasks.messages_sweep_task.delay()
    wait_for(lambda: not ({"received", "processing"} & set(statuses(ids).values())))

    messages = InboundMessage.objects.filter(id__in=ids)
    assert {m.status for m in messages} <= {"applied", "failed"}
    total = 0
    for message in messages:
        stored = Entry.objects.filter(provenance__message_id=message.pk).count()
        if message.status == "failed":
            assert message.error
            assert stored == 0
        else:
            assert stored == message.outcome["entries"]["created"] > 0
        total += stored
    assert Entry.objects.count() == total
    assert Person.objects.count() == sum(1 for m in messages if m.status == "applied")
    assert all(m.attempts == 2 for m in messages if m.pk in interrupted)
