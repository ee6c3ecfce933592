"""Every path that reads person data goes through records.access and is audited; nothing leaks."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.models import AccessEvent
from tests.records.access_factories import actor_at, entry, role
from tests.records.factories import GpPracticeFactory, PersonAddressFactory, PersonFactory

pytestmark = pytest.mark.django_db

OUR_APPS = ("portal.", "records.", "consent.", "audit.", "ingestion.")
# Views of ours that return no person data. Adding a view means deciding which list it belongs to.
NO_PERSON_DATA = {
    "portal:home",
    "portal:act_as",
    "portal:healthz",
    "portal:emergency_access",
    "portal:correction_list",  # references, statuses and dates only; each links to a person page
    # Senders post data in; the answer says what became of each entry, never what the record holds.
    "ingestion:fhir_bundle_receive",
    # The public opt-out form: no account, and it never says whether a record exists.
    "consent:opt_out",
    "consent:opt_out_easy_read",
    "consent:opt_out_received",
}
# Context launch: it looks the person up through records.access.person_for (audited) and only redirects to
# the person's page, which is the door; its refusal page is the same for "no such person" and "not yours".
NO_PERSON_DATA |= {"portal:launch", "portal:launch_continue", "portal:mfa_done"}


def our_url_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django admin: staff only, its own permissions
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from our_url_patterns(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.callback.__module__.startswith(OUR_APPS):
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern), pattern.callback


def test_every_view_of_ours_is_declared_as_reading_person_data_or_not():
    undeclared = [
        name
        for name, _, view in our_url_patterns()
        if not getattr(view, "reads_person_data", False) and name not in NO_PERSON_DATA
    ]
    assert undeclared == [], "declare each view: @person_page, or add it to NO_PERSON_DATA"


PERSON_URLS = [(name, route) for name, route, view in our_url_patterns() if "<int:person_id>" in route]


def test_there_are_person_pages_to_check():
    assert PERSON_URLS, "the walk below would prove nothing"


def person_page_kwargs(name: str, person, practice) -> dict:
    """The other URL parts of a person page, pointing at things the person has."""
    import base64

    kwargs = {"person_id": person.pk}
    if name in ("portal:result_trend", "portal:results_cumulative"):
        report = entry(person, practice, category="lab_report", subtype="ue", code="ue-panel")
        entry(person, practice, category="lab_result", parent=report, code="1000661000000107")
        kwargs |= {"code": "1000661000000107"} if name == "portal:result_trend" else {"panel": "ue"}
    elif name in ("portal:entry_detail", "portal:correction_create", "portal:attachment_download"):
        letter = entry(
            person,
            practice,
            category="document",
            resource={
                "resourceType": "DocumentReference",
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain",
                            "data": base64.b64encode(b"Dear Dr").decode(),
                        }
                    }
                ],
            },
        )
        kwargs["entry_id"] = letter.pk
        if name == "portal:attachment_download":
            kwargs["index"] = 0
    return kwargs


@pytest.mark.parametrize(("name", "route"), PERSON_URLS)
def test_each_person_url_is_404_without_a_relationship_audited_and_200_with_one(client: Client, name, route):
    practice = GpPracticeFactory()
    # A name no faker user can share: the signed-in user's own name is on every page.
    theirs = PersonFactory(family_name="Outsider-Quaintrelle")
    mine = PersonFactory(registered_practice=practice)
    gp = actor_at(practice, role_=role("gp"))
    client.force_login(gp.user)
    kwargs = person_page_kwargs(name, mine, practice)
    if name == "portal:correction_detail":
        from records.corrections import correction_request_create

        correction = correction_request_create(
            actor=gp, entry=entry(mine, practice), what_is_wrong="Wrong date of onset"
        )
        kwargs["reference"] = correction.reference

    forbidden = client.get(reverse(name, kwargs={**kwargs, "person_id": theirs.pk}))
    missing = client.get(reverse(name, kwargs={**kwargs, "person_id": 987_654_321}))
    allowed = client.get(reverse(name, kwargs=kwargs))

    assert forbidden.status_code == missing.status_code == 404
    assert strip_tokens(forbidden) == strip_tokens(missing)
    assert theirs.family_name.encode() not in forbidden.content
    assert allowed.status_code == 200
    events = AccessEvent.objects.order_by("seq")
    assert [(e.person_id, e.outcome) for e in events] == [
        (theirs.pk, "denied"),
        (987_654_321, "denied"),
        (mine.pk, "allowed"),
    ]


def strip_tokens(response) -> bytes:
    return re.sub(rb"[A-Za-z0-9]{32,}", b"", response.content)  # CSRF tokens differ per response


class TestSearch:
    def test_finds_by_nhs_number_with_spaces_and_audits_the_search(self, client):
        practice = GpPracticeFactory()
        person = PersonFactory(registered_practice=practice, nhs_number="9990000018", family_name="Hardy")
        gp = actor_at(practice, role_=role("gp"))
        client.force_login(gp.user)

        response = client.get(reverse("portal:person_search"), {"nhs_number": "999 000 0018"})

        assert person.family_name.upper().encode() in response.content
        event = AccessEvent.objects.get(action="search")
        assert event.detail == {"query": {"nhs_number": "9990000018"}, "results": [person.pk]}

    def test_a_search_matching_only_people_you_may_not_open_looks_like_one_matching_nobody(self, client):
        practice = GpPracticeFactory()
        PersonFactory(family_name="Featherstonehaugh", date_of_birth="1950-01-01")  # not registered here
        gp = actor_at(practice, role_=role("gp"))
        client.force_login(gp.user)

        someone = client.get(
            reverse("portal:person_search"), {"name": "Featherstonehaugh", "date_of_birth": "01/01/1950"}
        )
        nobody = client.get(
            reverse("portal:person_search"), {"name": "Featherstonehaugh", "date_of_birth": "02/01/1950"}
        )

        assert b"No one you have a care relationship with matches" in someone.content
        assert strip_tokens(someone).replace(b"01/01/1950", b"") == strip_tokens(nobody).replace(
            b"02/01/1950", b""
        )

    @pytest.mark.parametrize(
        ("typed", "stored"),
        [
            ("Smtih", "Smith"),
            ("Jones", "Lloyd-Jones"),
            ("Parker Bowles", "Parker Bowles"),
            ("Parker", "Parker-Bowles"),
        ],
    )
    def test_names_match_through_typos_and_double_barrelled_surnames(self, typed, stored):
        from records.access import person_search

        practice = GpPracticeFactory()
        person = PersonFactory(registered_practice=practice, family_name=stored, date_of_birth="1960-05-05")
        gp = actor_at(practice, role_=role("gp"))

        assert person_search(actor=gp, name=typed, date_of_birth=person.date_of_birth) == [person]

    def test_a_postcode_narrows_a_name_search(self):
        from records.access import person_search

        practice = GpPracticeFactory()
        here = PersonFactory(registered_practice=practice, family_name="Hardy")
        there = PersonFactory(registered_practice=practice, family_name="Hardy")
        PersonAddressFactory(person=here, postcode="DT1 1UD")
        PersonAddressFactory(person=there, postcode="BH15 1AA")
        gp = actor_at(practice, role_=role("gp"))

        assert person_search(actor=gp, name="Hardy", postcode="dt1  1ud") == [here]


def test_the_record_page_shows_only_the_roles_categories_and_says_what_was_shown(client):
    practice = GpPracticeFactory()
    person = PersonFactory(registered_practice=practice)
    appointment = entry(
        person, practice, category="appointment", summary="Diabetes review", days_ago=-10, status="booked"
    )
    entry(person, practice, category="medication", summary="Metformin 500mg tablets")
    clerk = actor_at(practice, role_=role("practice-administrator", categories=["appointment", "encounter"]))
    client.force_login(clerk.user)

    response = client.get(reverse("portal:person_detail", args=[person.pk]))

    assert b"Diabetes review" in response.content
    assert b"Metformin" not in response.content
    event = AccessEvent.objects.get(outcome="allowed")
    assert event.detail == {"page": "summary", "categories": ["appointment"], "entries": [appointment.pk]}


def test_nothing_is_shown_if_the_access_event_cannot_be_written(client):
    """Fail closed: a real database refusal of the audit insert, not a simulated one."""
    practice = GpPracticeFactory()
    person = PersonFactory(registered_practice=practice, family_name="Unshowable")
    gp = actor_at(practice, role_=role("gp"))
    client.force_login(gp.user)
    client.raise_request_exception = False
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_accessevent ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")

    response = client.get(reverse("portal:person_detail", args=[person.pk]))

    assert response.status_code == 500
    assert b"UNSHOWABLE" not in response.content.upper()


def test_a_user_with_several_roles_chooses_one_before_seeing_anyone(client):
    practice = GpPracticeFactory()
    person = PersonFactory(registered_practice=practice)
    gp = actor_at(practice, role_=role("gp"))
    from tests.records.factories import MembershipFactory

    MembershipFactory(user=gp.user, role=role("consultant"))
    client.force_login(gp.user)
    url = reverse("portal:person_detail", args=[person.pk])

    first = client.get(url)
    assert first.status_code == 302
    assert first.url.startswith(reverse("portal:act_as"))
    client.post(reverse("portal:act_as"), {"membership": gp.membership.pk, "next": url})
    assert client.get(url).status_code == 200
    assert AccessEvent.objects.get().role_code == "gp"
