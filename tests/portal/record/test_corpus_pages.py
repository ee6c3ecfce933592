"""The public sample corpus (HL7 v2 and FHIR messages nobody here wrote), ingested as the pipeline stores
it, then read through every record page: real-world shapes must render, not just the demo's."""

import base64

import pytest
from django.urls import reverse
from django.utils.html import escape

from records.access import care_relationship_grant
from records.models import Entry
from tests.records.access_factories import actor_at, role
from tests.records.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

PAGES = (
    "portal:person_detail",
    "portal:person_timeline",
    "portal:person_results",
    "portal:person_documents",
    "portal:person_social_care",
)
PER_CATEGORY = 15  # entry pages opened per category and person


def test_every_page_of_every_sample_record_renders(client, corpus_people):
    assert len(corpus_people) >= 15
    assert sum(p.n for p in corpus_people) > 1000
    clinician = actor_at(OrganisationFactory(), role_=role("consultant"))
    client.force_login(clinician.user)
    opened = 0
    for person in corpus_people:
        care_relationship_grant(person=person, user=clinician.user, granted_by=None)
        for name in PAGES:
            response = client.get(reverse(name, args=[person.pk]))
            assert response.status_code == 200, (name, person.pk)
        for category in Entry.objects.filter(person=person).values_list("category", flat=True).distinct():
            for entry_id in Entry.objects.filter(person=person, category=category).values_list(
                "pk", flat=True
            )[:PER_CATEGORY]:
                response = client.get(reverse("portal:entry_detail", args=[person.pk, entry_id]))
                assert response.status_code == 200, (category, entry_id)
                opened += 1
    assert opened > 200


def test_a_sample_reports_results_chart_and_letters_read_in_the_page(client, corpus_people):
    clinician = actor_at(OrganisationFactory(), role_=role("consultant"))
    client.force_login(clinician.user)
    result = Entry.objects.filter(category="lab_result").exclude(code="").first()
    letter = next(
        e
        for e in Entry.objects.filter(category="document")
        if (e.resource["content"][0]["attachment"].get("contentType", "")).startswith("text/plain")
        and e.resource["content"][0]["attachment"].get("data")
    )
    text = base64.b64decode(letter.resource["content"][0]["attachment"]["data"]).decode()
    for entry in (result, letter):
        care_relationship_grant(person=entry.person, user=clinician.user, granted_by=None)

    trend = client.get(reverse("portal:result_trend", args=[result.person_id, result.code]))
    page = client.get(reverse("portal:entry_detail", args=[letter.person_id, letter.pk]))

    assert trend.status_code == 200
    assert trend.context["chart"]["dates"]
    assert page.status_code == 200
    first_line = next(line for line in text.splitlines() if line.strip())
    assert escape(first_line.strip()) in page.content.decode()
