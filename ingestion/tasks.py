"""Celery tasks: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from ingestion.services import apply


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def message_process_task(message_id: int) -> int:
    """Process this message and whatever else is waiting with it, in batches.

    One task per received message, but each claims a whole batch: when it runs, the messages received
    since are usually still waiting and go with it; the tasks for those then find nothing left to do.
    """
    processed = apply.messages_process_pending(limit=apply.batch_size())
    if not processed:
        apply.message_process(message_id)
    return processed


@shared_task(acks_late=True, ignore_result=True)
def messages_sweep_task() -> dict[str, int]:
    """Periodic: requeue messages whose worker died mid-processing, then process what is waiting."""
    counts = apply.messages_sweep()
    if counts["waiting"]:
        counts["processed"] = apply.messages_process_pending(limit=10 * apply.batch_size())
    return counts


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def messages_process_pending_task() -> int:
    """Process one batch of whatever is waiting. The MLLP listener sends one per batch of new messages
    (rather than one per message), so that busy feeds are written in large batches."""
    return apply.messages_process_pending(limit=apply.batch_size())
