"""Processing: map a stored message, match its patients, write the record; set the message's outcome.

Built for throughput: pending messages are claimed many at a time (SELECT … FOR UPDATE SKIP LOCKED, so
workers never wait on each other), mapped, matched with a few set-based queries and written with one
COPY-based upsert per batch. If the batch fails, its messages are retried one by one so that only the
message at fault is marked. See docs/decisions/0009-ingestion-pipeline.md.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from dcr.bulk import bulk_update_rows
from ingestion.canonical import ItemDraft, MappedRecord, MappingError, PatientDraft
from ingestion.models import InboundMessage
from ingestion.services.matching import Match, Matcher, NewPerson, nhs_numbers_opted_out, valid_nhs_number
from ingestion.services.merges import MergeRefused, person_merge
from records import services as record_services
from records.models import Entry, LocalIdentifier, Organisation, Person, PersonAddress, SourceSystem
from records.services import DemographicsUpdate, EntryDraft, UpsertOutcome

if TYPE_CHECKING:
    from ingestion.fhir import FhirReader

logger = logging.getLogger(__name__)

Status = InboundMessage.Status
_ITEM_FIELDS = [f.name for f in fields(ItemDraft)]
# Reasons and warnings kept on a message's outcome; a 10,000-row extract lists only the first ones.
_LISTED = 50


def max_attempts() -> int:
    return getattr(settings, "DCR_INGEST_MAX_ATTEMPTS", 5)


def batch_size() -> int:
    return getattr(settings, "DCR_INGEST_BATCH_SIZE", 500)


# ---- applying mapped records ------------------------------------------------------------------------


@dataclass
class ApplyResult:
    """What one MappedRecord did to the record."""

    status: str = Status.APPLIED  # applied, held or dropped
    person_id: int | None = None
    person_created: bool = False
    entries: Counter = field(default_factory=Counter)  # created / updated / skipped
    withdrawn: int = 0
    merge_id: int | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Unit:
    source: SourceSystem
    record: MappedRecord
    message: InboundMessage | None = None
    result: ApplyResult = field(default_factory=ApplyResult)
    match: Match | None = None
    # File under this person whatever the identifiers say (a merge whose survivor is new to the record).
    force_person: Person | None = None


class _Rollback(Exception):
    """Undo the message's writes (an all-or-nothing bundle with a held or refused part)."""

    def __init__(self, status: str, reason: str, location: str = "", outcome: dict | None = None):
        self.status, self.reason, self.location, self.outcome = status, reason, location, outcome or {}
        super().__init__(reason)


def apply_units(units: Sequence[Unit]) -> None:
    """Apply records in order; each unit's result is set. Merges split the run, so that what comes after
    a merge is matched against the merged record. Call inside a transaction."""
    run: list[Unit] = []
    for unit in units:
        if unit.record.merge is not None:
            _apply_group(run)
            run = []
            _apply_merge(unit)
        else:
            run.append(unit)
    _apply_group(run)


def mapped_record_apply(
    *, source_system: SourceSystem, record: MappedRecord, message: InboundMessage | None = None
) -> ApplyResult:
    """Match one record's patient and write its demographics and items; held or dropped when it must be."""
    unit = Unit(source_system, record, message)
    with transaction.atomic():
        apply_units([unit])
    return unit.result


def _resolution(unit: Unit) -> tuple[Person | None, bool]:
    if unit.force_person is not None:
        return unit.force_person, False
    message = unit.message
    if message is None or not message.resolution:
        return None, False
    if message.resolution == InboundMessage.Resolution.USE_PERSON:
        return message.resolution_person, False
    return None, message.resolution == InboundMessage.Resolution.NEW_PERSON


def _apply_group(units: list[Unit]) -> None:
    units = [u for u in units if u.record.patient is not None or _no_patient(u)]
    if not units:
        return
    matcher = Matcher([(u.source, u.record.patient.identity) for u in units])
    for unit in units:
        person, new = _resolution(unit)
        unit.match = matcher.match(
            unit.source, unit.record.patient.identity, resolution_person=person, resolution_new=new
        )
        unit.result.warnings.extend(unit.match.warnings)
        unit.result.warnings.extend(unit.record.warnings)
        if unit.match.held:
            unit.result.status = Status.HELD
            unit.result.reason = unit.match.held
    _drop_opted_out(units)
    live = [u for u in units if u.result.status == Status.APPLIED]
    if not live:
        return
    _create_people(matcher.created, live)
    for unit in live:
        unit.result.person_id = unit.match.person_id
    _link_local_ids(live)
    _apply_demographics(live)
    _apply_addresses(live)
    _write_items(live)


def _no_patient(unit: Unit) -> bool:
    unit.result.warnings.append("the message names no patient: nothing to apply")
    return False


def _drop_opted_out(units: list[Unit]) -> None:
    numbers: dict[int, set[str]] = {}
    for position, unit in enumerate(units):
        if unit.result.status != Status.APPLIED:
            continue
        found = {n for n in (unit.match.set_nhs_number, unit.match.person.nhs_number) if n}
        identity_number = unit.record.patient.identity.nhs_number
        if identity_number:
            found.add(identity_number.replace(" ", ""))
        numbers[position] = found
    wanted = set().union(*numbers.values()) if numbers else set()
    opted_out = nhs_numbers_opted_out(wanted) if wanted else set()
    if not opted_out:
        return
    for position, found in numbers.items():
        if found & opted_out:
            unit = units[position]
            unit.result.status = Status.DROPPED
            unit.result.reason = "the person has opted out of the shared care record: nothing was stored"


def _create_people(created: list[NewPerson], live: list[Unit]) -> None:
    needed = {id(u.match.person) for u in live if isinstance(u.match.person, NewPerson)}
    to_create = [new for new in created if id(new) in needed and new.person is None]
    if not to_create:
        return
    people = [
        Person(nhs_number=new.nhs_number, nhs_number_status=new.nhs_number_status if new.nhs_number else "")
        for new in to_create
    ]
    # A concurrent batch creating the same NHS number makes this fail; the batch is then retried one
    # message at a time and finds the person the other made.
    Person.objects.bulk_create(people)
    for new, person in zip(to_create, people, strict=True):
        new.person = person
    for unit in live:
        if isinstance(unit.match.person, NewPerson):
            unit.result.person_created = True


def _person(unit: Unit) -> Person:
    person = unit.match.person
    return person.person if isinstance(person, NewPerson) else person


def _link_local_ids(units: list[Unit]) -> None:
    links = [
        LocalIdentifier(
            person_id=unit.result.person_id,
            system=local.system[:255],
            value=local.value[:100],
            type_code=local.type_code[:8],
            source_system=unit.source,
        )
        for unit in units
        for local in unit.match.link
    ]
    if links:
        LocalIdentifier.objects.bulk_create(links, ignore_conflicts=True)


def _apply_demographics(units: list[Unit]) -> None:
    ods_codes = {u.record.patient.registered_practice_ods for u in units if u.source.is_live} - {""}
    practices = (
        dict(Organisation.objects.filter(ods_code__in=ods_codes).values_list("ods_code", "id"))
        if ods_codes
        else {}
    )
    updates: list[DemographicsUpdate] = []
    for unit in units:
        person = _person(unit)
        draft = unit.record.patient
        values: dict[str, Any] = {}
        if unit.match.set_nhs_number and unit.source.is_live:
            values["nhs_number"] = unit.match.set_nhs_number
        if not unit.source.is_live:
            # A source in test mode is processed but changes nothing anyone sees: its entries are hidden by
            # the access rules; demographics have no such filter, so they are not applied at all.
            unit.result.warnings.append("test mode: demographics not applied")
            continue
        values.update({k: v for k, v in draft.demographics.items() if k in record_services.PERSON_FIELDS})
        values.pop("registered_practice_id", None)
        if draft.identity.nhs_number_status and (values.get("nhs_number") or person.nhs_number):
            values.setdefault("nhs_number_status", draft.identity.nhs_number_status)
        if draft.registered_practice_ods:
            practice = practices.get(draft.registered_practice_ods)
            if practice:
                values["registered_practice_id"] = practice
            else:
                unit.result.warnings.append(
                    f"registered practice {draft.registered_practice_ods} is not a known organisation"
                )
        values = _valid_demographics(values, unit)
        if values:
            updates.append(DemographicsUpdate(person, unit.source, values, draft.source_updated_at))
    if updates:
        record_services.people_update_demographics(updates=updates)


_CHOICES = {
    "gender": {c.value for c in Person.Gender},
    "nhs_number_status": {c.value for c in Person.NhsNumberStatus},
}
_LENGTHS = {
    f.name: f.max_length
    for f in Person._meta.get_fields()
    if getattr(f, "max_length", None) and f.name in record_services.PERSON_FIELDS
}


def _valid_demographics(values: dict[str, Any], unit: Unit) -> dict[str, Any]:
    """Drop values the Person table cannot hold, with a warning, rather than fail the whole batch."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name in _CHOICES and value not in _CHOICES[name] and value not in ("", None):
            unit.result.warnings.append(f"{name} {value!r} is not recognised: not applied")
            continue
        if value is None and name not in ("date_of_birth", "date_of_death", "registered_practice_id"):
            value = ""
        limit = _LENGTHS.get(name)
        if limit and isinstance(value, str) and len(value) > limit:
            value = value[:limit]
        kept[name] = value
    return kept


def _apply_addresses(units: list[Unit]) -> None:
    wanted = [u for u in units if u.source.is_live and u.record.patient.address is not None]
    if not wanted:
        return
    current = {
        a.person_id: a
        for a in PersonAddress.objects.filter(
            person_id__in={u.result.person_id for u in wanted},
            use=PersonAddress.Use.HOME,
            period_end__isnull=True,
        )
    }
    newest: dict[int, Unit] = {}
    for unit in wanted:
        held = newest.get(unit.result.person_id)
        if held is None or unit.record.patient.source_updated_at >= held.record.patient.source_updated_at:
            newest[unit.result.person_id] = unit
    first_addresses: list[PersonAddress] = []
    for person_id, unit in newest.items():
        address = unit.record.patient.address
        postcode = address.postcode.upper().strip()[:10]
        held = current.get(person_id)
        since = unit.record.patient.source_updated_at.date()
        if held is None:
            # Nothing to close: written together, in one statement.
            first_addresses.append(
                PersonAddress(
                    person_id=person_id,
                    source_system=unit.source,
                    lines=address.lines,
                    town=address.town[:100],
                    county=address.county[:100],
                    postcode=postcode,
                    period_start=since,
                )
            )
            continue
        if (held.lines, held.town, held.postcode) == (address.lines, address.town, postcode):
            continue
        record_services.person_address_set_current(
            person=_person(unit),
            source_system=unit.source,
            lines=address.lines,
            town=address.town[:100],
            county=address.county[:100],
            postcode=postcode,
            since=since,
        )
    if first_addresses:
        PersonAddress.objects.bulk_create(first_addresses)


def _provenance(unit: Unit) -> dict[str, Any]:
    message = unit.message
    if message is None:
        return {"channel": "direct"}
    return {
        "channel": message.channel,
        "format": message.format,
        "message_id": message.pk,
        "control_id": message.control_id[:80],
    }


def _write_items(units: list[Unit]) -> None:
    by_source: dict[int, tuple[SourceSystem, list[EntryDraft], list[tuple[str, datetime]]]] = {}
    owners: dict[tuple[int, str], list[Unit]] = {}
    for unit in units:
        source, drafts, cancelled = by_source.setdefault(unit.source.pk, (unit.source, [], []))
        provenance = _provenance(unit)
        for item in unit.record.items:
            values = {name: getattr(item, name) for name in _ITEM_FIELDS}
            drafts.append(EntryDraft(person_id=unit.result.person_id, provenance=provenance, **values))
            owners.setdefault((source.pk, item.business_key), []).append(unit)
        at = unit.record.patient.source_updated_at
        cancelled.extend((key, at) for key in unit.record.cancelled_keys)
        for key in unit.record.cancelled_keys:
            owners.setdefault((source.pk, "withdraw:" + key), []).append(unit)
    for source, drafts, cancelled in by_source.values():
        if drafts:
            outcomes = record_services.record_entries_upsert(source_system=source, drafts=drafts)
            for key, outcome in outcomes.items():
                for unit in owners.get((source.pk, key), []):
                    unit.result.entries[str(outcome)] += 1
        if cancelled:
            for key in _withdraw(source, cancelled):
                for unit in owners.get((source.pk, "withdraw:" + key), []):
                    unit.result.withdrawn += 1


def _withdrawn_resource(resource: dict[str, Any], resource_type: str) -> tuple[dict[str, Any], str]:
    resource = dict(resource)
    if resource_type == "Flag":
        resource["status"] = "inactive"
        return resource, "inactive"
    if resource_type == "RelatedPerson":
        resource["active"] = False
        return resource, "inactive"
    if resource_type in ("Condition", "AllergyIntolerance"):
        system = {
            "Condition": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "AllergyIntolerance": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        }[resource_type]
        resource["verificationStatus"] = {"coding": [{"system": system, "code": "entered-in-error"}]}
        resource.pop("clinicalStatus", None)
        return resource, "entered-in-error"
    resource["status"] = "entered-in-error"
    return resource, "entered-in-error"


def _withdraw(source: SourceSystem, cancelled: list[tuple[str, datetime]]) -> list[str]:
    """Withdraw entries a source has cancelled (A11 cancel admit, a lifted flag): a new version marked
    entered-in-error (inactive for flags and related people), under the same newer-wins rule."""
    newest: dict[str, datetime] = {}
    for key, at in cancelled:
        newest[key] = max(at, newest.get(key, at))
    drafts = []
    for entry in Entry.objects.filter(source_system=source, business_key__in=list(newest)):
        at = newest[entry.business_key]
        if entry.source_updated_at > at:
            continue
        resource, status = _withdrawn_resource(entry.resource, entry.resource_type)
        if status == entry.status and resource == entry.resource:
            continue
        drafts.append(
            EntryDraft(
                person_id=entry.person_id,
                category=entry.category,
                resource=resource,
                business_key=entry.business_key,
                source_updated_at=at,
                summary=entry.summary,
                subtype=entry.subtype,
                occurred_at=entry.occurred_at,
                ended_at=entry.ended_at,
                review_due_on=entry.review_due_on,
                code_system=entry.code_system,
                code=entry.code,
                code_display=entry.code_display,
                status=status,
                allocated_team=entry.allocated_team,
                sensitivity=entry.sensitivity,
                provenance={**entry.provenance, "withdrawn": True},
            )
        )
    if not drafts:
        return []
    outcomes = record_services.record_entries_upsert(source_system=source, drafts=drafts)
    return [key for key, outcome in outcomes.items() if outcome != UpsertOutcome.SKIPPED]


def _apply_merge(unit: Unit) -> None:
    """Move what is filed under the retired identity to the survivor, then apply the message's demographics
    to the survivor. Held when either identity is ambiguous or two different NHS numbers would be joined."""
    merge = unit.record.merge
    result = unit.result
    result.warnings.extend(unit.record.warnings)
    if not unit.source.is_live:
        result.warnings.append("test mode: the merge was not applied")
        return
    matcher = Matcher([(unit.source, merge.retired), (unit.source, merge.surviving)])
    retired = matcher.match(unit.source, merge.retired, create=False)
    survivor = matcher.match(unit.source, merge.surviving, create=False)
    for match in (retired, survivor):
        if match.held:
            result.status, result.reason = Status.HELD, match.held
            return
    retired_person = retired.person if isinstance(retired.person, Person) else None
    survivor_person = survivor.person if isinstance(survivor.person, Person) else None
    survivor_number = valid_nhs_number(merge.surviving)
    force: Person | None = None
    if retired_person is None:
        result.warnings.append("nothing is filed under the retired identifiers: nothing to move")
    elif survivor_person is None:
        # The surviving identity is new to the record: the retired person takes its identifiers.
        if survivor_number and retired_person.nhs_number and survivor_number != retired_person.nhs_number:
            result.status = Status.HELD
            result.reason = (
                f"the merge would join two different NHS numbers ({retired_person.nhs_number} into "
                f"{survivor_number}): held for review, never applied"
            )
            return
        force = retired_person
    elif survivor_person.pk != retired_person.pk:
        try:
            record = person_merge(
                source_system=unit.source,
                surviving=survivor_person,
                retired=retired_person,
                message=unit.message,
            )
        except MergeRefused as exc:
            result.status, result.reason = Status.HELD, str(exc)
            return
        if record is not None:
            result.merge_id = record.pk
    patient = unit.record.patient or PatientDraft(identity=merge.surviving, source_updated_at=timezone.now())
    survivor_unit = Unit(unit.source, MappedRecord(patient=patient), unit.message, force_person=force)
    _apply_group([survivor_unit])
    result.status = survivor_unit.result.status
    result.reason = survivor_unit.result.reason
    result.person_id = survivor_unit.result.person_id
    result.person_created = survivor_unit.result.person_created
    result.warnings.extend(w for w in survivor_unit.result.warnings if w not in result.warnings)


# ---- processing messages ----------------------------------------------------------------------------

_CLAIM_SQL = """
UPDATE ingestion_inboundmessage SET status = 'processing', attempts = attempts + 1, claimed_at = %(now)s
WHERE id IN (
    SELECT id FROM ingestion_inboundmessage
    WHERE status = 'received' AND {condition}
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def _claim(condition: str, params: dict[str, Any], limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(condition=condition), {**params, "limit": limit, "now": timezone.now()}
        )
        return sorted(row[0] for row in cursor.fetchall())


def _claim_fresh(limit: int) -> list[int]:
    return _claim("attempts = 0", {}, limit)


def _claim_retry(tried: Sequence[int] = ()) -> list[int]:
    # A message that failed or whose worker died is tried again alone, after a pause growing with attempts,
    # and at most once per call of messages_process_pending.
    delay = getattr(settings, "DCR_INGEST_RETRY_SECONDS", 5)
    return _claim(
        "attempts > 0 AND NOT (id = ANY(%(tried)s)) AND (claimed_at IS NULL"
        " OR claimed_at < %(now)s - make_interval(secs => %(delay)s * attempts))",
        {"delay": delay, "tried": list(tried)},
        1,
    )


def _claim_ids(ids: Iterable[int]) -> list[int]:
    return _claim("id = ANY(%(ids)s)", {"ids": list(ids)}, 100000)


def messages_process_pending(limit: int = 500) -> int:
    """Process up to `limit` received messages, oldest first, in batches; returns how many were processed.

    Safe to run in many workers at once: each claims its own messages and skips those others hold.
    """
    done = 0
    tried: list[int] = []
    while done < limit:
        ids = _claim_fresh(min(batch_size(), limit - done))
        if not ids:
            ids = _claim_retry(tried)
            tried.extend(ids)
        if not ids:
            break
        messages_process_claimed(ids)
        done += len(ids)
    return done


def messages_process(ids: Sequence[int], *, progress: Callable[[int], None] | None = None) -> int:
    """Process these messages (those still waiting), in batches; returns how many were processed."""
    done = 0
    for start in range(0, len(ids), batch_size()):
        claimed = _claim_ids(ids[start : start + batch_size()])
        if claimed:
            messages_process_claimed(claimed, progress=progress)
        done += len(claimed)
    return done


def message_process(message_id: int, *, fhir_reader: FhirReader | None = None) -> InboundMessage:
    """Process one message if it is still waiting; return it with its status, outcome and error.

    `fhir_reader`: a reader over the message's body that the caller already holds (the HTTP endpoint,
    which answers entry by entry from it); the body is then neither loaded again nor parsed twice.
    """
    claimed = _claim_ids([message_id])
    if claimed:
        messages_process_claimed(claimed, fhir_reader=fhir_reader)
    return InboundMessage.objects.get(pk=message_id)


def messages_process_claimed(
    ids: Sequence[int],
    *,
    progress: Callable[[int], None] | None = None,
    fhir_reader: FhirReader | None = None,
) -> None:
    """Process messages this worker has claimed: HL7 v2 messages together, files and bundles one by one."""
    query = InboundMessage.objects.filter(id__in=ids, status=Status.PROCESSING)
    if fhir_reader is not None:
        query = query.defer("payload")
    messages = list(query.select_related("source_system__organisation", "resolution_person").order_by("id"))
    batch: list[InboundMessage] = []
    for message in messages:
        if message.format == InboundMessage.Format.HL7V2:
            batch.append(message)
        else:
            _process_whole(message, progress=progress, fhir_reader=fhir_reader)
    if batch:
        _process_hl7_batch(batch)
        if progress:
            progress(len(batch))


def _finish(
    message: InboundMessage, status: str, *, error: str = "", location: str = "", outcome=None
) -> None:
    message.status = status
    message.error = error
    message.error_location = location[:200]
    if outcome is not None:
        message.outcome = outcome
    message.processed_at = timezone.now()


_FINISH_FIELDS = ["status", "error", "error_location", "outcome", "processed_at"]


def _save(messages: Sequence[InboundMessage]) -> None:
    if len(messages) == 1:
        messages[0].save(update_fields=_FINISH_FIELDS)
    elif messages:
        bulk_update_rows(messages, _FINISH_FIELDS)


def _transient(message: InboundMessage, exc: BaseException) -> None:
    """An unexpected error: try again later, up to DCR_INGEST_MAX_ATTEMPTS, then fail with the reason."""
    logger.exception("inbound message %s failed on attempt %s", message.pk, message.attempts)
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, DataError | psycopg.DataError):
        # PostgreSQL refused a value (a NUL character, an impossible date): the same bytes would fail again.
        status, reason = Status.FAILED, f"the data cannot be stored: {exc}"[:2000]
    elif message.attempts >= max_attempts():
        status, reason = Status.FAILED, f"gave up after {message.attempts} attempts: {reason}"
    else:
        status = Status.RECEIVED
    InboundMessage.objects.filter(pk=message.pk).update(
        status=status,
        error=reason,
        processed_at=timezone.now() if status == Status.FAILED else None,
    )
    message.status, message.error = status, reason


def _summary(units: Sequence[Unit]) -> dict[str, Any]:
    entries: Counter = Counter()
    people: set[int] = set()
    created = 0
    withdrawn = 0
    held: list[str] = []
    dropped = 0
    warnings: list[str] = []
    merges: list[int] = []
    for unit in units:
        result = unit.result
        entries.update(result.entries)
        withdrawn += result.withdrawn
        if result.person_id:
            people.add(result.person_id)
            created += result.person_created
        if result.status == Status.HELD:
            held.append(result.reason)
        elif result.status == Status.DROPPED:
            dropped += 1
        if result.merge_id:
            merges.append(result.merge_id)
        for warning in result.warnings:
            if len(warnings) < _LISTED and warning not in warnings:
                warnings.append(warning)
    summary: dict[str, Any] = {
        "records": len(units),
        "people": sorted(people)[:_LISTED],
        "people_count": len(people),
        "entries": {k: entries.get(k, 0) for k in ("created", "updated", "skipped")},
    }
    if created:
        summary["people_created"] = len({u.result.person_id for u in units if u.result.person_created})
    if withdrawn:
        summary["withdrawn"] = withdrawn
    if held:
        summary["held"] = len(held)
        summary["held_reasons"] = list(dict.fromkeys(held))[:_LISTED]
    if dropped:
        summary["dropped"] = dropped
    if merges:
        summary["merges"] = merges
    if warnings:
        summary["warnings"] = warnings
    return summary


def _status_of(units: Sequence[Unit]) -> tuple[str, str]:
    """A message is held if any part of it is held; dropped if everything in it was dropped."""
    statuses = [u.result.status for u in units]
    if Status.HELD in statuses:
        reasons = [u.result.reason for u in units if u.result.status == Status.HELD]
        return Status.HELD, "; ".join(dict.fromkeys(reasons))[:2000]
    if statuses and all(s == Status.DROPPED for s in statuses):
        return Status.DROPPED, units[0].result.reason
    return Status.APPLIED, ""


def _map_hl7(message: InboundMessage) -> MappedRecord:
    from ingestion import hl7v2

    return hl7v2.map_message(bytes(message.payload), received_at=message.received_at)


def _process_hl7_batch(messages: list[InboundMessage]) -> None:
    units: list[Unit] = []
    finished: list[InboundMessage] = []
    for message in messages:
        if message.source_system is None:
            _finish(message, Status.FAILED, error="the sender is not a registered source system")
            finished.append(message)
            continue
        try:
            record = _map_hl7(message)
        except MappingError as exc:
            # Bad input: retrying cannot help, so it fails now, with the reason and where.
            _finish(message, Status.FAILED, error=str(exc), location=getattr(exc, "location", ""))
            finished.append(message)
            continue
        except Exception as exc:
            _finish(
                message, Status.FAILED, error=f"the message could not be mapped: {type(exc).__name__}: {exc}"
            )
            logger.exception("mapping inbound message %s raised", message.pk)
            finished.append(message)
            continue
        units.append(Unit(message.source_system, record, message))
    try:
        with transaction.atomic():
            apply_units(units)
            for unit in units:
                status, reason = _status_of([unit])
                _finish(unit.message, status, error=reason, outcome=_summary([unit]))
            _save(finished + [u.message for u in units])
        return
    except Exception:
        if len(units) <= 1:
            if units:
                _save(finished)
                _transient(units[0].message, _last_exception())
            return
        logger.warning("a batch of %s messages failed; retrying them one by one", len(units), exc_info=True)
    _save(finished)
    for unit in units:
        unit.result = ApplyResult()
        unit.match = None
        try:
            with transaction.atomic():
                apply_units([unit])
                status, reason = _status_of([unit])
                _finish(unit.message, status, error=reason, outcome=_summary([unit]))
                _save([unit.message])
        except Exception as exc:
            _transient(unit.message, exc)


def _last_exception() -> BaseException:
    import sys

    exc = sys.exc_info()[1]
    return exc if exc is not None else RuntimeError("unknown error")


_CONTENT_TYPES = {
    InboundMessage.Format.FHIR_JSON: "application/fhir+json",
    InboundMessage.Format.FHIR_XML: "application/fhir+xml",
    InboundMessage.Format.NDJSON: "application/fhir+ndjson",
}


def _process_whole(
    message: InboundMessage,
    *,
    progress: Callable[[int], None] | None = None,
    fhir_reader: FhirReader | None = None,
) -> None:
    """A FHIR body or a CSV extract: one transaction, written in chunks as the reader streams it."""
    if message.source_system is None:
        _finish(message, Status.FAILED, error="the sender is not a registered source system")
        _save([message])
        return
    try:
        with transaction.atomic():
            if message.format == InboundMessage.Format.CSV:
                status, error, location, outcome = _apply_csv(message, progress)
            else:
                status, error, location, outcome = _apply_fhir(message, progress, fhir_reader)
            _finish(message, status, error=error, location=location, outcome=outcome)
            _save([message])
    except _Rollback as exc:
        _finish(message, exc.status, error=exc.reason, location=exc.location, outcome=exc.outcome)
        _save([message])
    except MappingError as exc:
        _finish(message, Status.FAILED, error=str(exc), location=exc.location)
        _save([message])
    except Exception as exc:
        _transient(message, exc)


def _chunks(records: Iterable[MappedRecord], size: int = 2000) -> Iterator[list[MappedRecord]]:
    """Records in groups of about `size` items, so each group is one upsert."""
    chunk: list[MappedRecord] = []
    items = 0
    for record in records:
        chunk.append(record)
        items += len(record.items) + 1
        if items >= size:
            yield chunk
            chunk, items = [], 0
    if chunk:
        yield chunk


def _apply_fhir(
    message: InboundMessage, progress, reader: FhirReader | None = None
) -> tuple[str, str, str, dict[str, Any]]:
    from ingestion.fhir import FhirReader, operation_outcome

    if reader is None:
        reader = FhirReader(
            bytes(message.payload),
            content_type=_CONTENT_TYPES[message.format],
            received_at=message.received_at,
        )
    units: list[Unit] = []
    rejected = reader.rejected
    if not rejected:
        for chunk in _chunks(reader.records()):
            chunk_units = [Unit(message.source_system, record, message) for record in chunk]
            apply_units(chunk_units)
            written = sum(len(r.items) for r in chunk)
            # Only the results are needed from here on: a large bundle's mapped resources are let go
            # chunk by chunk instead of all being held until its end.
            for unit in chunk_units:
                unit.record.items = []
            del chunk
            units.extend(chunk_units)
            if progress:
                progress(written)
            if reader.atomic and any(u.result.status == Status.HELD for u in chunk_units):
                status, reason = _status_of(chunk_units)
                raise _Rollback(
                    Status.HELD,
                    f"{reason} (a {reader.bundle_type} bundle is all or nothing: nothing was stored)",
                    outcome={"bundle_type": reader.bundle_type, **_summary(chunk_units)},
                )
        rejected = reader.rejected
    issues = reader.issues
    outcome_resource = operation_outcome(issues[:200])
    errors = [i for i in issues if i.is_error]
    if rejected:
        first = errors[0] if errors else None
        text = "; ".join(_issue_text(i) for i in errors[:10]) or "the body was rejected"
        raise _Rollback(
            Status.FAILED,
            text,
            location=_issue_location(first) if first else "",
            outcome={
                "bundle_type": reader.bundle_type,
                "errors": len(errors),
                "operation_outcome": outcome_resource,
            },
        )
    outcome = {"bundle_type": reader.bundle_type, **_summary(units)}
    outcome["resources_rejected"] = len({i.entry for i in errors if i.entry is not None})
    outcome["operation_outcome"] = outcome_resource
    status, reason = _status_of(units)
    if not units:
        status = Status.APPLIED
    if errors and status == Status.APPLIED:
        reason = "; ".join(_issue_text(i) for i in errors[:10])
    return status, reason, _issue_location(errors[0]) if errors else "", outcome


def _issue_text(issue) -> str:
    return issue.as_text()


def _issue_location(issue) -> str:
    return issue.expression or issue.element


def _apply_csv(message: InboundMessage, progress) -> tuple[str, str, str, dict[str, Any]]:
    from ingestion.csv import CsvHeaderError, iter_social_care_rows

    source = message.source_system
    payload = bytes(message.payload)
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports are often Windows-1252.
        text = payload.decode("cp1252", errors="replace")
    system = source.local_identifier_system or f"urn:dcr:source:{source.code}"
    rows = iter_social_care_rows(
        io.StringIO(text, newline=""), identifier_system=system, received_at=message.received_at
    )
    rejected_rows: list[dict[str, Any]] = []
    rejected = 0
    warnings: list[str] = []
    units: list[Unit] = []

    def records() -> Iterator[MappedRecord]:
        nonlocal rejected
        for row in rows:
            if row.record is None:
                rejected += 1
                if len(rejected_rows) < 500:
                    rejected_rows.extend(
                        {"line": i.line, "column": i.column, "reason": i.reason}
                        for i in row.issues
                        if i.severity == "error"
                    )
            else:
                yield row.record

    try:
        for chunk in _chunks(records(), size=2000):
            chunk_units = [Unit(source, record, message) for record in chunk]
            apply_units(chunk_units)
            units.extend(chunk_units)
            if progress:
                progress(len(chunk))
    except CsvHeaderError as exc:
        raise _Rollback(
            Status.FAILED,
            str(exc),
            location="header",
            outcome={
                "rows_rejected": [
                    {"line": i.line, "column": i.column, "reason": i.reason} for i in exc.issues
                ]
            },
        ) from None
    outcome = _summary(units)
    outcome["rows"] = len(units) + rejected
    outcome["rows_applied"] = sum(1 for u in units if u.result.status == Status.APPLIED)
    outcome["rows_rejected_count"] = rejected
    if rejected_rows:
        outcome["rows_rejected"] = rejected_rows
    del warnings
    status, reason = _status_of(units)
    if not units and rejected:
        status = Status.FAILED
    if rejected:
        detail = "; ".join(
            f"line {r['line']}, {r['column'] or 'row'}: {r['reason']}" for r in rejected_rows[:20]
        )
        reason = (f"{reason}; " if reason else "") + f"{rejected} row(s) not loaded: {detail}"
    return status, reason, "", outcome


# ---- the sweep --------------------------------------------------------------------------------------


def messages_sweep(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Put back messages whose worker died mid-processing (or fail them after too many attempts), and
    return how many are waiting. Run periodically; the listener's tasks do the ordinary work."""
    stale_after = stale_after or timedelta(seconds=getattr(settings, "DCR_INGEST_CLAIM_TIMEOUT", 300))
    cutoff = timezone.now() - stale_after
    stale = InboundMessage.objects.filter(
        Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True), status=Status.PROCESSING
    )
    failed = stale.filter(attempts__gte=max_attempts()).update(
        status=Status.FAILED,
        error="the worker processing it stopped each time it was tried; gave up after the maximum attempts",
        processed_at=timezone.now(),
    )
    requeued = stale.update(status=Status.RECEIVED)
    waiting = InboundMessage.objects.filter(status=Status.RECEIVED).count()
    return {"requeued": requeued, "failed": failed, "waiting": waiting}
