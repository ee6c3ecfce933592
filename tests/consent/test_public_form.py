"""The public opt-out form: no account, three languages and an easy-read version, CSRF and a rate limit,
an acknowledgement with a reference, and never a hint of whether the person has a record."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from audit.models import PrivacyAlert
from consent.models import OptOut
from tests.records.factories import PersonAddressFactory, PersonFactory

pytestmark = pytest.mark.django_db


def url(name: str, language: str = "en-gb") -> str:
    with translation.override(language):
        return reverse(name)


def answers(**overrides) -> dict:
    return {
        "on_behalf": "self",
        "given_names": "Agnieszka",
        "family_name": "Zielińska",
        "date_of_birth": "04/03/1961",
        "nhs_number": "",
        "address": "12 High East Street\nDorchester",
        "postcode": "dt1 1uz",
        "email": "agnieszka@example.org",
        "phone": "",
        "declaration": "on",
        **overrides,
    }


class TestLanguages:
    @pytest.mark.parametrize(
        ("language", "path", "heading", "button"),
        [
            ("en-gb", "/opt-out/", "Opt out of the shared care record", "Send my opt-out"),
            ("pl", "/pl/opt-out/", "Rezygnacja ze wspólnej dokumentacji opieki", "Wyślij rezygnację"),
            ("ro", "/ro/opt-out/", "Renunțarea la dosarul comun de îngrijire", "Trimiteți renunțarea"),
        ],
    )
    def test_the_form_is_offered_in_english_polish_and_romanian(
        self, client, language, path, heading, button
    ):
        assert url("consent:opt_out", language) == path

        page = client.get(path).content.decode()

        assert f'<html lang="{language}">' in page
        assert f"<h1>{heading}</h1>" in page
        assert button in page
        assert "Summary Care Record" in page  # the opt-out says it covers this record only
        # every page links to the other languages
        assert 'href="/pl/opt-out/"' in page or language == "pl"
        assert 'href="/ro/opt-out/"' in page or language == "ro"

    def test_errors_come_back_in_the_language_of_the_form(self, client):
        page = client.post("/pl/opt-out/", answers(postcode="nowhere", declaration="")).content.decode()

        assert "Wystąpił problem" in page
        assert "Wpisz brytyjski kod pocztowy" in page
        assert "Aby wysłać rezygnację, potwierdź oświadczenie" in page
        assert not OptOut.objects.exists()

    def test_the_easy_read_version_uses_short_plain_sentences(self, client):
        page = client.get(url("consent:opt_out_easy_read")).content.decode()
        polish = client.get(url("consent:opt_out_easy_read", "pl")).content.decode()

        assert "Say no to the shared care record" in page
        assert "You can change your mind later." in page
        assert "Birthday" in page
        assert "Powiedz „nie” wspólnej dokumentacji opieki" in polish

    def test_staff_pages_stay_in_english_whatever_the_browser_asks_for(self, client):
        page = client.get(reverse("account_login"), headers={"accept-language": "pl"})

        assert page["Content-Language"] == "en-gb"
        assert '<html lang="en-GB">' in page.content.decode()
        assert "Zaloguj" not in page.content.decode()

    def test_every_msgid_is_translated_and_the_compiled_catalogues_match_the_sources(self):
        import gettext
        from pathlib import Path

        from django.conf import settings

        for language in ("pl", "ro"):
            folder = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES"
            catalogue = parse_po((folder / "django.po").read_text(encoding="utf-8"))
            with (folder / "django.mo").open("rb") as mo:
                compiled = gettext.GNUTranslations(mo)
            assert catalogue, language
            assert [msgid for msgid, msgstr in catalogue.items() if not msgstr] == [], language
            stale = [msgid for msgid, msgstr in catalogue.items() if compiled.gettext(msgid) != msgstr]
            assert stale == [], f"{language}: run compilemessages"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr for the non-fuzzy entries of a .po file (no plurals or contexts are used)."""
    entries = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block:
            continue
        match = re.search(r'^msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if not match:
            continue
        msgid, msgstr = (_unquote(part) for part in match.groups())
        if msgid:
            entries[msgid] = msgstr
    return entries


def _unquote(part: str) -> str:
    import ast

    return "".join(ast.literal_eval(line) for line in part.strip().splitlines())


class TestSubmitting:
    def test_a_request_is_acknowledged_with_a_reference_and_the_privacy_officer_is_alerted(self, client):
        response = client.post("/opt-out/", answers(nhs_number="999 000 0018"))

        assert response.status_code == 302
        assert response.url == "/opt-out/received/"
        page = client.get(response.url).content.decode()
        opt_out = OptOut.objects.get()
        assert opt_out.reference in page
        assert (opt_out.channel, opt_out.language, opt_out.status) == ("web", "en-gb", "received")
        assert (opt_out.family_name, opt_out.postcode, opt_out.nhs_number) == (
            "Zielińska",
            "DT1 1UZ",
            "9990000018",
        )
        assert PrivacyAlert.objects.filter(kind=PrivacyAlert.Kind.OPT_OUT).count() == 1

    def test_a_polish_request_is_answered_in_polish_and_its_letter_will_be_in_polish(self, client):
        client.post("/pl/opt-out/", answers())

        page = client.get("/pl/opt-out/received/").content.decode()

        assert "Otrzymaliśmy Twoją rezygnację" in page
        assert OptOut.objects.get().language == "pl"

    def test_easy_read_requests_are_recorded_as_such(self, client):
        client.post(url("consent:opt_out_easy_read"), answers())

        assert OptOut.objects.get().channel == "easy_read"

    def test_on_behalf_of_someone_else_the_authority_and_applicant_are_required(self, client):
        missing = client.post("/opt-out/", answers(on_behalf="authority")).content.decode()
        assert "Tell us what authority you have to act for them" in missing
        assert "Enter your full name" in missing

        client.post(
            "/opt-out/",
            answers(
                on_behalf="authority",
                authority="lpa_health",
                authority_detail="OPG reference 7000-1234-5678",
                applicant_name="Marek Zieliński",
            ),
        )

        opt_out = OptOut.objects.get()
        assert (opt_out.on_behalf, opt_out.authority, opt_out.applicant_name) == (
            "authority",
            "lpa_health",
            "Marek Zieliński",
        )

    def test_a_child_can_be_opted_out_by_a_parent(self, client):
        client.post(
            "/opt-out/",
            answers(
                on_behalf="child",
                authority="parental",
                applicant_name="Ewa Zielińska",
                date_of_birth="01/02/2019",
            ),
        )

        assert OptOut.objects.get().authority == "parental"

    def test_a_wrong_nhs_number_gets_a_clear_answer(self, client):
        page = client.post("/opt-out/", answers(nhs_number="999 000 0019")).content.decode()

        assert "This is not a valid NHS number" in page


class TestNoRecordLeak:
    def test_the_answer_is_the_same_whether_or_not_the_person_has_a_record(self):
        known = PersonFactory(
            given_names="Agnieszka", family_name="Zielińska", date_of_birth=date(1961, 3, 4)
        )
        PersonAddressFactory(person=known, postcode="DT1 1UZ")
        pages = []
        for details in (
            answers(nhs_number=known.nhs_number),
            answers(nhs_number="9990000026", family_name="Nobody", postcode="BH1 1AA"),
        ):
            client = Client()
            posted = client.post("/opt-out/", details)
            received = client.get(posted.url)
            reference = OptOut.objects.order_by("-pk").first().reference
            pages.append(
                (posted.status_code, posted.url, received.content.decode().replace(reference, "REF"))
            )

        assert pages[0] == pages[1]

    def test_receiving_a_request_never_reads_the_record(self, client):
        with CaptureQueriesContext(connection) as queries:
            client.post("/opt-out/", answers(nhs_number="9990000018"))

        assert OptOut.objects.exists()
        assert not [q["sql"] for q in queries if "records_person" in q["sql"] or "records_entry" in q["sql"]]

    def test_the_acknowledgement_page_without_a_request_sends_you_to_the_form(self, client):
        response = client.get("/opt-out/received/")

        assert response.status_code == 302
        assert response.url == "/opt-out/"


class TestAbuse:
    def test_a_post_without_the_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post("/opt-out/", answers())

        assert response.status_code == 403
        assert not OptOut.objects.exists()

    def test_the_form_carries_a_csrf_token(self, client):
        assert 'name="csrfmiddlewaretoken"' in client.get("/opt-out/").content.decode()

    def test_each_address_may_post_only_so_many_times_an_hour(self, client, settings):
        settings.DCR_OPT_OUT_RATE_LIMIT = 3

        statuses = [client.post("/opt-out/", answers(family_name=f"Test{n}")).status_code for n in range(3)]
        statuses.append(
            client.post("/opt-out/", answers(postcode="bad")).status_code
        )  # failed tries count too
        refused = client.post("/pl/opt-out/", answers())
        elsewhere = Client(REMOTE_ADDR="192.0.2.44").post("/opt-out/", answers())

        assert statuses == [302, 302, 302, 429]
        assert refused.status_code == 429
        assert "Zbyt wiele prób" in refused.content.decode()
        assert refused["Retry-After"] == "3600"
        assert elsewhere.status_code == 302
        assert OptOut.objects.count() == 4
