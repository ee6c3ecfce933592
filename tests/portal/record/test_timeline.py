"""The unified timeline: newest first across sources, filters, and keyset pages that never skip or repeat."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from records.models import Entry
from tests.portal.record.builders import clinician_for, record_person
from tests.records.access_factories import entry
from tests.records.factories import SourceSystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    return record_person(encounters=95)


@pytest.fixture
def gp(client, record):
    actor = clinician_for(record)
    client.force_login(actor.user)
    return actor


def url(record, **query):
    from urllib.parse import urlencode

    base = reverse("portal:person_timeline", args=[record.person.pk])
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


def next_link(response) -> str | None:
    found = re.search(rb'hx-get="([^"]+)"', response.content)
    return found.group(1).decode().replace("&amp;", "&") if found else None


def shown(response) -> list[Entry]:
    """The entries a page lists, in its order, read from the HTML as a user would see them."""
    ids = [int(pk) for pk in re.findall(rb'<li class="dcr-entry">.*?/entries/(\d+)/', response.content, re.S)]
    found = Entry.objects.in_bulk(ids)
    return [found[pk] for pk in ids]


def walk(client, record, **query):
    """Follow the pages as the browser would (HTMX), returning the entries of each page."""
    response = client.get(url(record, **query))
    pages = [shown(response)]
    link = next_link(response)
    while link:
        response = client.get(url(record) + link, headers={"HX-Request": "true"})
        assert b"<html" not in response.content  # only the rows and the next sentinel
        pages.append(shown(response))
        link = next_link(response)
    return pages


def test_pages_cover_every_visible_entry_once_newest_first(client, record, gp):
    pages = walk(client, record)

    shown = [e.pk for page in pages for e in page]
    assert len(pages) >= 3
    assert len(shown) == len(set(shown))
    visible = Entry.objects.filter(person=record.person).exclude(sensitivity="safeguarding")
    assert set(shown) == set(visible.exclude(category="lab_result").values_list("pk", flat=True))
    times = [e.occurred_at for page in pages for e in page]
    assert times == sorted(times, reverse=True)


def test_entries_at_the_same_moment_are_neither_skipped_nor_repeated(client, record, gp):
    moment = timezone.now() - timedelta(days=5)
    Entry.objects.filter(person=record.person, category="encounter").update(occurred_at=moment)

    shown = [e.pk for page in walk(client, record) for e in page]

    listed = (
        Entry.objects.filter(person=record.person)
        .exclude(category="lab_result")
        .exclude(sensitivity="safeguarding")
    )
    assert len(shown) == len(set(shown)) == listed.count()


def test_undated_entries_come_last(client, record, gp):
    undated = entry(record.person, record.practice, category="problem", summary="Undated problem")
    Entry.objects.filter(pk=undated.pk).update(occurred_at=None)

    shown = [e.pk for page in walk(client, record) for e in page]

    assert shown[-1] == undated.pk


def test_single_results_are_listed_under_their_report_unless_asked_for(client, record, gp):
    default = {e.category for page in walk(client, record) for e in page}
    asked = {e.category for page in walk(client, record, category=["lab_result"]) for e in page}

    assert "lab_report" in default
    assert "lab_result" not in default
    assert asked == {"lab_result"}


def test_each_row_says_where_it_came_from_and_when_it_was_updated(client, record, gp):
    page = client.get(url(record)).content.decode()

    assert "From Bridport Medical Centre" in page
    assert "updated " in page


def test_filters_by_category_source_and_date(client, record, gp):
    by_category = [
        e.category for page in walk(client, record, category=["lab_report", "document"]) for e in page
    ]
    assert set(by_category) == {"lab_report", "document"}

    by_source = [e for page in walk(client, record, organisation=record.council.pk) for e in page]
    assert {e.source_organisation_id for e in by_source} == {record.council.pk}

    start = (timezone.localdate() - timedelta(days=40)).strftime("%d/%m/%Y")
    end = (timezone.localdate() - timedelta(days=35)).strftime("%d/%m/%Y")
    in_range = [e for page in walk(client, record, date_from=start, date_to=end) for e in page]
    assert {e.summary for e in in_range} == {f"GP consultation {n}" for n in range(5, 11)}


def test_a_backwards_date_range_is_explained(client, record, gp):
    response = client.get(url(record, date_from="10/10/2025", date_to="01/01/2025"))

    assert response.status_code == 200
    assert (
        "The &#x27;to&#x27; date must be the same as or after the &#x27;from&#x27; date"
        in response.content.decode()
    )


def test_a_garbled_cursor_starts_from_the_top(client, record, gp):
    response = client.get(url(record, after="not-a-cursor"))

    assert response.status_code == 200
    assert response.context["page"].entries[0].occurred_at > timezone.now() - timedelta(days=1)


def test_each_page_is_audited_with_its_entries(client, record, gp):
    pages = walk(client, record)

    events = AccessEvent.objects.filter(outcome="allowed", detail__page="timeline").order_by("seq")
    assert len(events) == len(pages)
    assert events[1].detail["entries"] == [e.pk for e in pages[1]]


def test_without_javascript_the_load_more_link_leads_to_the_next_page(client, record, gp):
    first = client.get(url(record))
    link = re.search(rb'<a class="[^"]*" href="([^"]+)">Load more', first.content).group(1).decode()

    second = client.get(url(record) + link.replace("&amp;", "&"))

    assert b"<html" in second.content
    assert second.context["page"].entries[0].pk not in {e.pk for e in first.context["page"].entries}


def test_entries_from_a_test_source_are_not_shown(client, record, gp):
    test_source = SourceSystemFactory(organisation=record.hospital, mode="test")
    entry(record.person, source=test_source, summary="From a source still in test")

    shown = [e.summary for page in walk(client, record) for e in page]

    assert "From a source still in test" not in shown


def test_the_source_filter_lists_the_records_organisations_and_keeps_the_choice(client, record, gp):
    page = client.get(url(record, organisation=record.council.pk)).content.decode()

    assert f'<option value="{record.council.pk}" selected>Dorset Council</option>' in page
    assert f'<option value="{record.hospital.pk}">West Dorset Hospital</option>' in page


def test_a_date_that_is_not_a_date_is_explained_and_the_page_still_shows(client, record, gp):
    response = client.get(url(record, date_from="31/02/2025"))

    assert "Enter the date as day, month and year" in response.content.decode()
    assert shown(response)
