"""Checks the access trail's hash chain: any altered, removed or re-ordered event is reported."""

from dataclasses import dataclass

from django.db import connection

# Recomputes each event's hash with the same function the insert trigger used, and compares each
# prev_hash with the hash of the event before it in sequence order.
_CHECK_SQL = """
SELECT seq, id, hash, prev_hash,
       encode(sha256(convert_to(audit_accessevent_payload(e), 'UTF8')), 'hex') AS expected,
       lag(hash) OVER (ORDER BY seq) AS previous_hash,
       lag(seq) OVER (ORDER BY seq) AS previous_seq
FROM audit_accessevent e
ORDER BY seq
"""


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    event_id: int
    problem: str


def audit_chain_verify() -> tuple[int, list[ChainProblem]]:
    """Return (events checked, problems). An empty list means the trail is intact."""
    problems: list[ChainProblem] = []
    checked = 0
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_SQL)
        for seq, event_id, stored, prev_hash, expected, previous_hash, previous_seq in cursor:
            checked += 1
            if seq is None:
                problems.append(
                    ChainProblem(seq, event_id, "has no sequence number: written around the trigger")
                )
                continue
            if stored != expected:
                problems.append(ChainProblem(seq, event_id, "altered: its contents no longer match its hash"))
            if previous_seq is None:
                if seq != 1:
                    problems.append(ChainProblem(seq, event_id, f"events 1 to {seq - 1} are missing"))
                elif prev_hash != "":
                    problems.append(ChainProblem(seq, event_id, "the first event points to an earlier one"))
                continue
            if seq != previous_seq + 1:
                problems.append(
                    ChainProblem(
                        seq, event_id, f"removed: events {previous_seq + 1} to {seq - 1} are missing"
                    )
                )
            elif prev_hash != previous_hash:
                problems.append(
                    ChainProblem(seq, event_id, "re-ordered or forged: it does not follow its predecessor")
                )
    return checked, problems
