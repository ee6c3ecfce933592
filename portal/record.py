"""What each page of a person's record shows, read through records.access (the one door).

Every function takes the acting Actor and a Person the actor may open (from portal.context.person_page)
and returns plain data for a template, with the ids of the entries it holds so the access event can say
exactly what was shown. Queries are few and run on the entry indexes (person, occurred_at, id) and
(person, category, occurred_at).
"""

from __future__ import annotations

import base64
import binascii
import time as time_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from records.access import Actor, Basis, entry_list_visible_to, restricted_information_exists
from records.models import AccessGrant, Entry, EntryCategory, Organisation, Person, PersonAddress

C = EntryCategory
# The timeline and the lists never need the resource JSON: leaving it out keeps each row small.
LIST_FIELDS = (
    "id",
    "person_id",
    "category",
    "subtype",
    "summary",
    "occurred_at",
    "ended_at",
    "review_due_on",
    "code",
    "code_display",
    "status",
    "sensitivity",
    "source_organisation_id",
    "source_updated_at",
)
# Orderings written exactly as the entry indexes are (occurred_at DESC NULLS LAST, id DESC), so that
# PostgreSQL walks the index and stops at the limit instead of sorting a long record.
NEWEST = (F("occurred_at").desc(nulls_last=True), F("id").desc())
OLDEST = (F("occurred_at").asc(nulls_first=True), F("id").asc())


def _visible(actor: Actor, person: Person, categories=None) -> QuerySet[Entry]:
    return entry_list_visible_to(actor=actor, person=person, categories=categories)


ORGANISATION_NAMES_SECONDS = 60
_organisation_memo: dict = {"at": 0.0, "table": {}}


def _organisation_table(refresh: bool = False) -> dict[int, Organisation]:
    """Every organisation's id, name and ODS code: a region has a hundred or so, they change rarely, and
    nearly every line of every page names one. Kept in the process for a minute rather than joined into
    each query."""
    now = time_module.monotonic()
    if refresh or now - _organisation_memo["at"] > ORGANISATION_NAMES_SECONDS:
        rows = Organisation.objects.values_list("id", "name", "ods_code")
        _organisation_memo["table"] = {
            pk: Organisation(id=pk, name=name, ods_code=ods) for pk, name, ods in rows
        }
        _organisation_memo["at"] = now
    return _organisation_memo["table"]


def _organisations(entries) -> dict[int, Organisation]:
    """The source organisations of these entries."""
    return _organisations_by_id({e.source_organisation_id for e in entries})


def _organisations_by_id(ids: set[int]) -> dict[int, Organisation]:
    if not ids:
        return {}
    table = _organisation_table()
    if not ids <= table.keys():  # one created within the last minute
        table = _organisation_table(refresh=True)
    return {pk: table[pk] for pk in ids}


CATEGORY_LABELS = dict(EntryCategory.choices)


def _attach_organisations(entries: list[Entry]) -> list[Entry]:
    """Each entry's source organisation and category label, for lists of many lines."""
    organisations = _organisations(entries)
    for entry in entries:
        entry.source_organisation = organisations[entry.source_organisation_id]
        entry.category_label = CATEGORY_LABELS.get(entry.category, entry.category)
    return entries


def current_postcodes_attach(people: list[Person]) -> list[Person]:
    """Each found person's current postcode, to tell apart people of the same name and birthday (never for
    a restricted person). One query for the whole list; call only with people the actor may open."""
    shown = [p.pk for p in people if not p.is_restricted]
    postcodes = dict(
        PersonAddress.objects.filter(person_id__in=shown, period_end__isnull=True)
        .order_by("person_id", "-period_start")
        .distinct("person_id")
        .values_list("person_id", "postcode")
    )
    for person in people:
        person.current_postcode = postcodes.get(person.pk, "")
    return people


# --- the banner -------------------------------------------------------------------------------------


@dataclass
class Banner:
    person: Person
    address: PersonAddress | None
    practice: Organisation | None
    allergies: list[Entry]
    alerts: list[Entry]
    restricted: bool
    break_glass_until: datetime | None
    basis: Basis
    age: int | None

    @property
    def entry_ids(self) -> list[int]:
        return [e.pk for e in (*self.allergies, *self.alerts)]

    @property
    def categories(self) -> set[str]:
        return {e.category for e in (*self.allergies, *self.alerts)}

    @property
    def no_known_allergies(self) -> bool:
        return bool(self.allergies) and all(e.subtype == "none-known" for e in self.allergies)

    @property
    def real_allergies(self) -> list[Entry]:
        return [e for e in self.allergies if e.subtype != "none-known"]


def banner_get(*, actor: Actor, person: Person, basis: Basis) -> Banner:
    """Who this is and what must not be missed: allergies, alerts, death, restricted information,
    emergency access in force. A restricted (S-flagged) person's address and GP are never shown."""
    address = practice = None
    if not person.is_restricted:
        address = (
            PersonAddress.objects.filter(person=person, period_end__isnull=True)
            .order_by("-period_start", "-pk")
            .first()
        )
        if person.registered_practice_id:
            practice = _organisations_by_id({person.registered_practice_id})[person.registered_practice_id]
    warnings = list(
        _visible(actor, person, [C.ALLERGY, C.ALERT])
        .filter(status__in=("active", ""))
        .only(*LIST_FIELDS)
        .order_by("category", *NEWEST)
    )
    break_glass_until = None
    if basis == Basis.BREAK_GLASS:
        break_glass_until = (
            AccessGrant.objects.filter(
                person=person,
                user=actor.user,
                basis=AccessGrant.Basis.BREAK_GLASS,
                expires_at__gt=timezone.now(),
            )
            .aggregate(until=Max("expires_at"))
            .get("until")
        )
    return Banner(
        person=person,
        address=address,
        practice=practice,
        allergies=[e for e in warnings if e.category == C.ALLERGY],
        alerts=[e for e in warnings if e.category == C.ALERT],
        restricted=restricted_information_exists(actor=actor, person=person),
        break_glass_until=break_glass_until,
        basis=basis,
        age=person.age_on(),
    )


# --- the summary ------------------------------------------------------------------------------------


@dataclass
class Summary:
    problems: list[Entry] = field(default_factory=list)
    medications: list[Entry] = field(default_factory=list)
    contacts: list[Entry] = field(default_factory=list)
    care_plans: list[Entry] = field(default_factory=list)
    upcoming: list[Entry] = field(default_factory=list)
    recent: list[Entry] = field(default_factory=list)
    results: list[Entry] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)

    @property
    def entries(self) -> list[Entry]:
        return [
            *self.problems,
            *self.medications,
            *self.contacts,
            *self.care_plans,
            *self.upcoming,
            *self.recent,
            *self.results,
        ]

    @property
    def next_review(self) -> date | None:
        due = [p.review_due_on for p in self.care_plans if p.review_due_on]
        return min(due) if due else None


SUMMARY_RECENT = 5
SUMMARY_RESULTS = 6


_NEWEST_SQL = "ORDER BY records_entry.occurred_at DESC NULLS LAST, records_entry.id DESC"
_OLDEST_SQL = "ORDER BY records_entry.occurred_at ASC NULLS FIRST, records_entry.id ASC"
# Each section of the summary: its condition (constants, or %(now)s), its order and how many.
_SUMMARY_SECTIONS = (
    ("records_entry.category = 'problem' AND records_entry.status = 'active'", _NEWEST_SQL, 50),
    ("records_entry.category = 'medication' AND records_entry.status = 'active'", _NEWEST_SQL, 50),
    ("records_entry.category = 'related_person' AND records_entry.status = 'active'", _NEWEST_SQL, 20),
    ("records_entry.category = 'care_plan' AND records_entry.status = 'active'", _NEWEST_SQL, 20),
    (
        "records_entry.category = 'appointment' AND records_entry.occurred_at >= %s"
        " AND records_entry.status IN ('booked', 'proposed', 'pending')",
        _OLDEST_SQL,
        10,
    ),
    ("records_entry.category = 'encounter' AND records_entry.occurred_at <= %s", _NEWEST_SQL, SUMMARY_RECENT),
    ("records_entry.category IN ('lab_report', 'imaging_report')", _NEWEST_SQL, SUMMARY_RESULTS),
)


def summary_get(*, actor: Actor, person: Person) -> Summary:
    """The current picture: active problems, current medicines, contacts and carers, the care package and
    its review, what is booked, the latest contacts and results. Allergies and alerts are in the banner.

    One statement: each section is a small index-ordered slice of the visible entries, joined with UNION
    ALL. The visible entries' SQL is compiled once from the access rules and reused for every slice (the
    ORM compiling seven unions cost more than running them)."""
    now = timezone.now()
    visible = _visible(actor, person).only(*LIST_FIELDS).order_by()
    base_sql, base_params = visible.query.sql_with_params()
    parts, params = [], []
    for condition, order, limit in _SUMMARY_SECTIONS:
        parts.append(f"({base_sql} AND ({condition}) {order} LIMIT {int(limit)})")
        params += [*base_params, *([now] if "%s" in condition else [])]
    entries = _attach_organisations(list(Entry.objects.raw(" UNION ALL ".join(parts), params)))
    summary = Summary(allowed=set(actor.role.categories))
    for entry in entries:
        getattr(summary, _section_of(entry, now)).append(entry)
    summary.upcoming.sort(key=lambda e: e.occurred_at)
    for name in ("problems", "medications", "contacts", "care_plans", "recent", "results"):
        getattr(summary, name).sort(key=lambda e: e.occurred_at or now, reverse=True)
    return summary


def _section_of(entry: Entry, now: datetime) -> str:
    return {
        C.PROBLEM: "problems",
        C.MEDICATION: "medications",
        C.RELATED_PERSON: "contacts",
        C.CARE_PLAN: "care_plans",
        C.APPOINTMENT: "upcoming",
        C.ENCOUNTER: "recent",
        C.LAB_REPORT: "results",
        C.IMAGING_REPORT: "results",
    }[entry.category]


# --- the timeline -----------------------------------------------------------------------------------

TIMELINE_PAGE = 40


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last entry shown, as (occurred_at, id); occurred_at None for undated ones."""

    occurred_at: datetime | None
    id: int

    def encode(self) -> str:
        return f"{self.occurred_at.isoformat() if self.occurred_at else 'none'}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        try:
            when, _, pk = text.rpartition("~")
            occurred = None if when == "none" else datetime.fromisoformat(when)
            if occurred is not None and occurred.tzinfo is None:
                return None
            return cls(occurred, int(pk))
        except (ValueError, TypeError):
            return None


@dataclass
class TimelinePage:
    entries: list[Entry]
    next_cursor: Cursor | None


def timeline_page(
    *,
    actor: Actor,
    person: Person,
    categories: list[str] | None = None,
    organisation_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    after: Cursor | None = None,
    size: int = TIMELINE_PAGE,
) -> TimelinePage:
    """Every source's entries, newest first, one keyset page at a time (undated entries last).

    Unless asked for by the category filter, single results are left out: each is listed under its report
    (one line for a full blood count, not seven)."""
    if not categories:
        categories = [c for c in actor.role.categories if c != C.LAB_RESULT]
    entries = _visible(actor, person, categories).only(*LIST_FIELDS)
    if organisation_id:
        entries = entries.filter(source_organisation_id=organisation_id)
    tz = timezone.get_current_timezone()
    dated = entries.filter(occurred_at__isnull=False)
    if date_from:
        dated = dated.filter(occurred_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        dated = dated.filter(
            occurred_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
        )
    rows: list[Entry] = []
    if after is None or after.occurred_at is not None:
        if after is not None:
            dated = dated.extra(
                where=["(records_entry.occurred_at, records_entry.id) < (%s, %s)"],
                params=[after.occurred_at, after.id],
            )
        rows = list(dated.order_by(*NEWEST)[: size + 1])
    # Undated entries come after every dated one, and only when no date range is asked for.
    if len(rows) <= size and not (date_from or date_to):
        undated = entries.filter(occurred_at__isnull=True)
        if after is not None and after.occurred_at is None:
            undated = undated.filter(id__lt=after.id)
        rows += list(undated.order_by("-id")[: size + 1 - len(rows)])
    more = len(rows) > size
    rows = _attach_organisations(rows[:size])
    cursor = Cursor(rows[-1].occurred_at, rows[-1].pk) if more and rows else None
    return TimelinePage(entries=rows, next_cursor=cursor)


ORGANISATIONS_CACHE_SECONDS = 300


def timeline_organisations(*, actor: Actor, person: Person) -> list[Organisation]:
    """The organisations whose entries this actor sees for this person, for the source filter.

    Finding them reads every visible entry of the record, so the answer is kept for a few minutes per
    person, organisation and role (a new source appears in the filter within that time)."""
    key = f"dcr:timeline-orgs:{person.pk}:{actor.organisation.pk}:{actor.role.pk}"
    rows = cache.get(key)
    if rows is None:
        # Evaluated here: the access rule's SQL names records_entry, so it cannot be nested as a subquery.
        ids = set(_visible(actor, person).values_list("source_organisation_id", flat=True).distinct())
        rows = list(
            Organisation.objects.filter(pk__in=ids).order_by("name").values_list("id", "name", "ods_code")
        )
        cache.set(key, rows, ORGANISATIONS_CACHE_SECONDS)
    return [Organisation(id=pk, name=name, ods_code=ods) for pk, name, ods in rows]


# --- results ----------------------------------------------------------------------------------------


@dataclass
class Value:
    """One result as a clinician reads it."""

    shown: str
    number: float | None
    unit: str
    low: float | None
    high: float | None
    range_text: str
    flag: str  # "H", "L", "" (in range or unknown)

    @property
    def flag_word(self) -> str:
        return {
            "H": "High",
            "L": "Low",
            "HH": "Critically high",
            "LL": "Critically low",
            "A": "Abnormal",
        }.get(self.flag, "")


def observation_value(resource: dict) -> Value:
    quantity = resource.get("valueQuantity") or {}
    number = quantity.get("value")
    comparator = quantity.get("comparator", "")
    if number is not None:
        shown = f"{comparator}{number:g}" if isinstance(number, (int, float)) else f"{comparator}{number}"
    else:
        shown = resource.get("valueString") or (resource.get("valueCodeableConcept") or {}).get("text", "")
    unit = quantity.get("unit") or quantity.get("code") or ""
    ranges = resource.get("referenceRange") or [{}]
    low = (ranges[0].get("low") or {}).get("value")
    high = (ranges[0].get("high") or {}).get("value")
    text = ranges[0].get("text", "")
    if not text and (low is not None or high is not None):
        text = (
            f"{low:g} to {high:g}"
            if low is not None and high is not None
            else (f"below {high:g}" if high is not None else f"above {low:g}")
        )
    flag = ""
    for concept in resource.get("interpretation") or []:
        codes = [c["code"] for c in concept.get("coding") or [] if c.get("code")]
        if codes and codes[0] != "N":
            flag = codes[0]
        elif not codes and concept.get("text", "").strip().lower() not in ("", "n", "normal"):
            flag = concept["text"].strip()  # a sender's own flag, shown in its words
    return Value(
        shown=shown,
        number=float(number) if isinstance(number, (int, float)) else None,
        unit=unit,
        low=low,
        high=high,
        range_text=text,
        flag=flag,
    )


@dataclass
class Report:
    entry: Entry
    results: list[tuple[Entry, Value]]


@dataclass
class Results:
    reports: list[Report]
    tests: list[dict]  # code, display, count, latest
    next_cursor: Cursor | None

    @property
    def entries(self) -> list[Entry]:
        return [r.entry for r in self.reports] + [e for r in self.reports for e, _ in r.results]


RESULTS_PAGE = 15


def results_get(*, actor: Actor, person: Person, after: Cursor | None = None) -> Results:
    """Laboratory and imaging reports, newest first, each with its results, and the tests that can be
    charted over time."""
    reports = _visible(actor, person, [C.LAB_REPORT, C.IMAGING_REPORT])
    if after is not None and after.occurred_at is not None:
        reports = reports.extra(
            where=["(records_entry.occurred_at, records_entry.id) < (%s, %s)"],
            params=[after.occurred_at, after.id],
        )
    page = list(reports.filter(occurred_at__isnull=False).order_by(*NEWEST)[: RESULTS_PAGE + 1])
    more = len(page) > RESULTS_PAGE
    page = _attach_organisations(page[:RESULTS_PAGE])
    children: dict[int, list[tuple[Entry, Value]]] = {r.pk: [] for r in page}
    if page:
        for child in _visible(actor, person, [C.LAB_RESULT]).filter(parent_id__in=children).order_by("id"):
            children[child.parent_id].append((child, observation_value(child.resource)))
    tests = _recent_tests(actor, person) if not after else []
    return Results(
        reports=[Report(entry=r, results=children[r.pk]) for r in page],
        tests=tests,
        next_cursor=Cursor(page[-1].occurred_at, page[-1].pk) if more else None,
    )


RECENT_RESULTS = 600


def _recent_tests(actor: Actor, person: Person) -> list[dict]:
    """The tests among the latest results (newest first on the index, so bounded however long the
    record), with how many and when last, for the trend list."""
    recent = (
        _visible(actor, person, [C.LAB_RESULT])
        .exclude(code="")
        .order_by(*NEWEST)
        .values_list("code", "code_display", "occurred_at")[:RECENT_RESULTS]
    )
    tests: dict[str, dict] = {}
    for code, display, occurred_at in recent:
        test = tests.setdefault(
            code, {"code": code, "code_display": display, "count": 0, "latest": occurred_at}
        )
        test["count"] += 1
    return sorted(tests.values(), key=lambda t: t["code_display"].lower())


@dataclass
class Trend:
    code: str
    display: str
    points: list[tuple[Entry, Value]]

    @property
    def unit(self) -> str:
        return next((v.unit for _, v in self.points if v.unit), "")

    @property
    def entries(self) -> list[Entry]:
        return [e for e, _ in self.points]

    def chart_data(self) -> dict:
        """For Chart.js: dates, values and the reference range (from the latest result that has one)."""
        latest = next((v for _, v in reversed(self.points) if v.low is not None or v.high is not None), None)
        return {
            "label": f"{self.display} ({self.unit})" if self.unit else self.display,
            "dates": [_label(e.occurred_at) for e, _ in self.points],
            "values": [v.number for _, v in self.points],
            "flags": [v.flag for _, v in self.points],
            "low": latest.low if latest else None,
            "high": latest.high if latest else None,
        }


def _label(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


def trend_get(*, actor: Actor, person: Person, code: str) -> Trend | None:
    """Every result of one test, oldest first (the person-and-code index)."""
    rows = list(
        _visible(actor, person, [C.LAB_RESULT])
        .filter(code=code, occurred_at__isnull=False)
        .order_by(*OLDEST)[:500]
    )
    if not rows:
        return None
    _attach_organisations(rows)
    return Trend(
        code=code,
        display=rows[-1].code_display or code,
        points=[(e, observation_value(e.resource)) for e in rows],
    )


@dataclass
class Cumulative:
    """A panel's results side by side: a row per test, a column per report (newest on the left)."""

    panel: str
    name: str
    reports: list[Entry]
    rows: list[tuple[str, str, list[Value | None]]]  # display, unit, values per report

    @property
    def entries(self) -> list[Entry]:
        return self.reports


def cumulative_get(*, actor: Actor, person: Person, panel: str, columns: int = 8) -> Cumulative | None:
    reports = list(
        _visible(actor, person, [C.LAB_REPORT])
        .filter(subtype=panel, occurred_at__isnull=False)
        .order_by(*NEWEST)[:columns]
    )
    if not reports:
        return None
    index = {r.pk: i for i, r in enumerate(reports)}
    rows: dict[str, tuple[str, str, list[Value | None]]] = {}
    for child in _visible(actor, person, [C.LAB_RESULT]).filter(parent_id__in=index).order_by("id"):
        value = observation_value(child.resource)
        values = rows.setdefault(child.code, (child.code_display, value.unit, [None] * len(reports)))[2]
        values[index[child.parent_id]] = value
    name = (reports[0].code_display or reports[0].summary.split(":")[0]) if reports else panel
    return Cumulative(panel=panel, name=name, reports=reports, rows=list(rows.values()))


# --- documents and single entries -------------------------------------------------------------------


def documents_list(*, actor: Actor, person: Person, limit: int = 200) -> list[Entry]:
    """Letters and other documents, newest first."""
    rows = list(_visible(actor, person, [C.DOCUMENT]).only(*LIST_FIELDS).order_by(*NEWEST)[:limit])
    return _attach_organisations(rows)


def entry_get(*, actor: Actor, person: Person, entry_id: int) -> Entry | None:
    """One entry, only if the actor may see it."""
    entry = (
        _visible(actor, person)
        .select_related("source_organisation", "source_system")
        .filter(pk=entry_id)
        .first()
    )
    return entry


@dataclass
class Attachment:
    index: int
    title: str
    content_type: str
    size: int | None
    text: str | None  # decoded, for text/plain shown in the page
    has_data: bool
    url: str


def attachments_of(entry: Entry) -> list[Attachment]:
    """The attachments of a DocumentReference (or a report's presentedForm)."""
    resource = entry.resource
    raw = [c.get("attachment") or {} for c in resource.get("content") or []]
    raw += resource.get("presentedForm") or []
    found = []
    for index, attachment in enumerate(raw):
        data = attachment.get("data")
        text = None
        content_type = attachment.get("contentType", "application/octet-stream")
        if data and content_type.startswith("text/plain"):
            text = _decode(data)
        found.append(
            Attachment(
                index=index,
                title=attachment.get("title") or resource.get("description") or "Attachment",
                content_type=content_type,
                size=attachment.get("size") or (len(data) * 3 // 4 if data else None),
                text=text,
                has_data=bool(data),
                url=attachment.get("url", ""),
            )
        )
    return found


def attachment_bytes(entry: Entry, index: int) -> tuple[bytes, str, str] | None:
    """The attachment's content, type and a file name, or None if there is no such inline attachment."""
    resource = entry.resource
    raw = [c.get("attachment") or {} for c in resource.get("content") or []]
    raw += resource.get("presentedForm") or []
    if not 0 <= index < len(raw) or not raw[index].get("data"):
        return None
    attachment = raw[index]
    try:
        content = base64.b64decode(attachment["data"], validate=False)
    except (binascii.Error, ValueError):
        return None
    content_type = attachment.get("contentType", "application/octet-stream")
    extension = {"text/plain": "txt", "application/pdf": "pdf", "text/html": "html"}.get(
        content_type.split(";")[0], "bin"
    )
    return content, content_type, f"document-{entry.pk}-{index + 1}.{extension}"


def _decode(data: str) -> str | None:
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


# --- social care ------------------------------------------------------------------------------------


@dataclass
class SocialCare:
    plans: list[Entry]
    contacts: list[Entry]
    assessments: list[Entry]
    alerts: list[Entry]

    @property
    def entries(self) -> list[Entry]:
        return [*self.plans, *self.contacts, *self.assessments, *self.alerts]


def social_care_get(*, actor: Actor, person: Person) -> SocialCare:
    """Care and support plans (package, provider, allocated worker, reviews), carers and care providers,
    assessments and reviews, and the council's alerts."""
    visible = _visible(actor, person, [C.CARE_PLAN, C.RELATED_PERSON, C.ENCOUNTER, C.ALERT])
    rows = list(
        visible.filter(
            Q(category=C.CARE_PLAN)
            | Q(category=C.RELATED_PERSON, subtype__in=("carer", "care-provider"))
            | Q(category=C.ENCOUNTER, subtype__in=("assessment", "review"))
            | Q(category=C.ALERT, source_organisation__kind=Organisation.Kind.COUNCIL_SOCIAL_CARE)
        ).order_by(*NEWEST)[:200]
    )
    _attach_organisations(rows)
    plans = [e for e in rows if e.category == C.CARE_PLAN]
    plans.sort(key=lambda e: (e.status != "active", -(e.occurred_at.timestamp() if e.occurred_at else 0)))
    return SocialCare(
        plans=plans,
        contacts=[e for e in rows if e.category == C.RELATED_PERSON],
        assessments=[e for e in rows if e.category == C.ENCOUNTER],
        alerts=[e for e in rows if e.category == C.ALERT],
    )


def care_plan_details(entry: Entry) -> dict:
    """A CarePlan as a social worker reads it."""
    resource = entry.resource
    activities = []
    for activity in resource.get("activity") or []:
        detail = activity.get("detail") or {}
        period = detail.get("scheduledPeriod") or {}
        activities.append(
            {
                "what": (detail.get("code") or {}).get("text", ""),
                "status": detail.get("status", ""),
                "start": _date(period.get("start")),
                "end": _date(period.get("end")),
                "by": ", ".join(p.get("display", "") for p in detail.get("performer") or []),
                "description": detail.get("description", ""),
            }
        )
    period = resource.get("period") or {}
    return {
        "title": resource.get("title") or entry.summary,
        "description": resource.get("description", ""),
        "categories": [c.get("text") or "" for c in resource.get("category") or []],
        "author": (resource.get("author") or {}).get("display", ""),
        "team": ", ".join(c.get("display", "") for c in resource.get("contributor") or []),
        "start": _date(period.get("start")),
        "end": _date(period.get("end")),
        "activities": activities,
        "notes": [n.get("text", "") for n in resource.get("note") or []],
    }


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
