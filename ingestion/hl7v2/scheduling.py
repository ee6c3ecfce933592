"""SIU messages (first version: not mapped yet)."""

from __future__ import annotations

from ingestion.canonical import MappedRecord
from ingestion.hl7v2.context import Context

SIU_EVENTS: frozenset[str] = frozenset()


def map_siu(ctx: Context, trigger: str) -> MappedRecord:
    raise NotImplementedError
