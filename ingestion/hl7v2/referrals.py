"""REF messages (first version: not mapped yet)."""

from __future__ import annotations

from ingestion.canonical import MappedRecord
from ingestion.hl7v2.context import Context

REF_EVENTS: frozenset[str] = frozenset()


def map_ref(ctx: Context, trigger: str) -> MappedRecord:
    raise NotImplementedError
