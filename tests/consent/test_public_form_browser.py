"""The public opt-out form in headless Chromium: choose Polish, fill it in, get a reference."""

import pytest
from playwright.sync_api import expect

from consent.models import OptOut

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_citizen_opts_out_in_polish_on_behalf_of_their_mother(live_server, page, screenshot):
    page.goto(f"{live_server.url}/opt-out/")
    expect(page.get_by_role("heading", name="Opt out of the shared care record")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("Summary Care Record")

    page.get_by_role("link", name="Polski").click()
    expect(page).to_have_url(f"{live_server.url}/pl/opt-out/")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    screenshot("form-pl")

    page.get_by_label("Osoby, w imieniu której mam prawo działać").check()
    page.get_by_label("Imię", exact=True).fill("Krystyna")
    page.get_by_label("Nazwisko", exact=True).fill("Wójcik")
    page.get_by_label("Data urodzenia").fill("12/02/1941")
    page.get_by_label("Adres", exact=True).fill("7 Cornwall Road\nDorchester")
    page.get_by_label("Kod pocztowy").fill("DT1 1RX")
    page.get_by_label(
        "Stałe pełnomocnictwo w sprawach zdrowia i opieki (Lasting Power of Attorney for Health and Welfare)"
    ).check()
    page.get_by_label("Opisz swoje uprawnienia").fill("OPG 7000-1111-2222")
    page.get_by_label("Twoje imię i nazwisko").fill("Piotr Wójcik")
    page.get_by_role("button", name="Wyślij rezygnację").click()
    # the declaration was not ticked: a clear answer, in Polish
    expect(page.get_by_role("alert")).to_contain_text("Aby wysłać rezygnację, potwierdź oświadczenie")

    page.get_by_label("Potwierdzam, że podane przeze mnie informacje są prawdziwe").check()
    page.get_by_role("button", name="Wyślij rezygnację").click()

    expect(page.get_by_role("heading", name="Otrzymaliśmy Twoją rezygnację")).to_be_visible()
    opt_out = OptOut.objects.get()
    expect(page.locator("#reference")).to_have_text(opt_out.reference)
    screenshot("received-pl")
    assert (opt_out.language, opt_out.authority, opt_out.applicant_name) == (
        "pl",
        "lpa_health",
        "Piotr Wójcik",
    )


def test_the_easy_read_form_is_one_link_away(live_server, page):
    page.goto(f"{live_server.url}/ro/opt-out/")
    page.get_by_role("link", name="Citiți această pagină în format ușor de citit").click()

    expect(page.get_by_role("heading", name="Spuneți „nu” dosarului comun de îngrijire")).to_be_visible()
    expect(page.get_by_text("Vă puteți răzgândi mai târziu.")).to_be_visible()
