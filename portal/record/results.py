"""Results: reports with their values, trends over time and cumulative tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from portal.record.common import (
    NEWEST,
    OLDEST,
    C,
    _attach_organisations,
    _visible,
)
from portal.record.timeline import Cursor
from records.access import Actor
from records.models import Entry, Person


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


def report_results(*, actor: Actor, person: Person, report: Entry) -> list[tuple[Entry, Value]]:
    """A report's results the actor may see, in the order the laboratory sent them."""
    if report.category not in (C.LAB_REPORT, C.IMAGING_REPORT):
        return []
    children = _visible(actor, person, [C.LAB_RESULT]).filter(parent=report).order_by("id")
    return [(child, observation_value(child.resource)) for child in children]
