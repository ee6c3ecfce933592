"""A clinician's journey through a record in headless Chromium, with axe-core on every page."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from records.models import CorrectionRequest
from tests.conftest import PASSWORD
from tests.portal.record.builders import clinician_for, record_person
from tests.records.access_factories import role
from tests.records.factories import MembershipFactory, PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe(page) -> None:
    """axe-core's WCAG 2.1 A and AA rules on the page as it stands; serious or critical findings fail."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)


def sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()


def test_search_summary_timeline_results_document_correction(live_server, page, screenshot):
    record = record_person(encounters=70)
    gp = clinician_for(record)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, gp.user)
    axe(page)

    # Find a person by name (with a typo) and date of birth.
    page.get_by_label("Name").fill("Hardey")
    page.get_by_label("Date of birth").fill("02/06/1948")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="HARDY, Thomasina")).to_be_visible()
    axe(page)
    screenshot("search")
    page.get_by_role("link", name="HARDY, Thomasina").click()

    # The summary, under the banner.
    expect(page.get_by_role("heading", name="HARDY, Thomasina")).to_be_visible()
    expect(page.get_by_text("Allergies: Penicillin")).to_be_visible()
    expect(page.get_by_text("Restricted information exists")).to_be_visible()
    expect(page.get_by_role("heading", name="Current medications")).to_be_visible()
    axe(page)
    screenshot("summary")

    # The timeline loads more as it scrolls.
    page.get_by_role("link", name="Timeline").click()
    rows = page.locator(".dcr-entry")
    expect(rows).to_have_count(40)
    page.locator(".dcr-load-more").scroll_into_view_if_needed()
    expect(rows).to_have_count(80)
    page.locator(".dcr-load-more").scroll_into_view_if_needed()
    expect(rows).not_to_have_count(80)
    expect(page.locator(".dcr-load-more")).to_have_count(0)
    axe(page)
    screenshot("timeline")
    page.get_by_label("Laboratory report").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(3)
    axe(page)

    # Results, a trend chart and a cumulative table.
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    axe(page)
    screenshot("results")
    page.get_by_role("link", name="Trend of HbA1c").first.click()
    expect(page.locator("#trend-chart")).to_be_visible()
    assert page.evaluate("() => Chart.getChart('trend-chart').data.datasets[0].data") == [58, 54, 47]
    axe(page)
    screenshot("trend")
    page.get_by_role("link", name="Back to results").click()
    page.get_by_role("link", name="Cumulative view of HbA1c").first.click()
    expect(page.get_by_role("row", name="HbA1c mmol/mol")).to_be_visible()
    axe(page)

    # A discharge letter, read in the page and downloaded.
    page.get_by_role("link", name="Documents").click()
    axe(page)
    page.get_by_role("link", name="Discharge summary: pneumonia").click()
    expect(page.get_by_text("Repeat chest X-ray in six weeks.")).to_be_visible()
    axe(page)
    screenshot("letter")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Discharge summary").click()
    assert "Repeat chest X-ray" in Path(download.value.path()).read_text()

    # Report incorrect information on it, and follow the request.
    page.get_by_role("link", name="Report incorrect information").click()
    axe(page)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    axe(page)
    page.get_by_label("What is wrong with this information?").fill("The discharge date is a day late.")
    page.get_by_role("button", name="Send report").click()
    reference = CorrectionRequest.objects.get().reference
    expect(page.get_by_role("heading", name=f"Correction request {reference}")).to_be_visible()
    axe(page)
    screenshot("correction")
    page.get_by_role("link", name="Your correction requests").click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    axe(page)

    # Social care.
    page.goto(f"{live_server.url}/people/{record.person.pk}/social-care/")
    expect(page.get_by_text("Gabriel Oak, social worker")).to_be_visible()
    axe(page)
    screenshot("social-care")


def test_break_glass_is_deliberate_and_marked_while_in_force(live_server, page, screenshot):
    record = record_person()
    stranger = clinician_for(record)  # at the practice, but for someone registered elsewhere:
    outsider = PersonFactory(family_name="Henchard", date_of_birth="1950-03-04")
    sign_in(page, live_server, stranger.user)

    page.get_by_label("NHS number").fill(outsider.nhs_number)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No one you have a care relationship with matches")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Emergency access").last.click()
    expect(page.get_by_role("heading", name="Emergency access to a record")).to_be_visible()
    expect(page.get_by_label("NHS number")).to_have_value(outsider.nhs_number)
    axe(page)
    page.get_by_role("button", name="Open the record in an emergency").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    axe(page)
    screenshot("emergency-access-errors")

    page.get_by_label("Date of birth").fill("04/03/1950")
    page.get_by_label("Emergency care: the person cannot consent").check()
    page.get_by_label("Explain why you need this record now").fill("Brought in unconscious by ambulance")
    page.get_by_label("I understand this access is recorded").check()
    page.get_by_role("button", name="Open the record in an emergency").click()

    expect(page.get_by_role("heading", name="HENCHARD", exact=False)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Emergency access in force until")
    axe(page)
    screenshot("break-glass")


def test_the_other_pages_pass_axe_too(live_server, page):
    """Choosing a role, the home page, a page that is not there, and an administrator's summary."""
    record = record_person()
    gp = clinician_for(record)
    MembershipFactory(user=gp.user, organisation=record.hospital, role=role("consultant"))
    page.goto(f"{live_server.url}/accounts/login/")
    axe(page)
    page.get_by_label("Email address").fill(gp.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("table", name="Your organisations and roles")).to_be_visible()
    axe(page)  # the home page, listing the user's roles
    page.get_by_role("link", name="Choose the role you are working in").click()
    expect(
        page.get_by_role("heading", name="Which organisation and role are you working in?")
    ).to_be_visible()
    axe(page)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{live_server.url}/")
    axe(page)
    page.goto(f"{live_server.url}/people/987654321/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    axe(page)
    page.goto(f"{live_server.url}/people/{record.person.pk}/entries/{record.entries['report0'].pk}/")
    axe(page)
    page.goto(f"{live_server.url}/people/{record.person.pk}/entries/{record.entries['hba1c0'].pk}/")
    axe(page)
    page.goto(f"{live_server.url}/emergency-access/?basis=self_claim")
    axe(page)


def test_sample_corpus_records_pass_axe_too(live_server, page, corpus_people, screenshot):
    """Real-world shapes (US Synthea bundles, HL7 v2 samples) rendered in the browser, checked by axe."""
    from records.access import care_relationship_grant

    clinician = clinician_for(record_person())
    sign_in(page, live_server, clinician.user)
    for person in corpus_people[:3]:
        care_relationship_grant(person=person, user=clinician.user, granted_by=None)
        for path in ("", "timeline/", "results/", "documents/", "social-care/"):
            page.goto(f"{live_server.url}/people/{person.pk}/{path}")
            expect(page.locator("#person-name")).to_be_visible()
            axe(page)
    screenshot("corpus-documents")


def test_rows_loaded_by_scrolling_are_announced_to_screen_readers(live_server, page):
    record = record_person(encounters=50)
    sign_in(page, live_server, clinician_for(record).user)

    page.goto(f"{live_server.url}/people/{record.person.pk}/timeline/")
    page.locator(".dcr-load-more").scroll_into_view_if_needed()

    expect(page.locator("#load-status")).to_have_text("22 more entries loaded; that is the whole record.")
    expect(page.locator(".dcr-entry")).to_have_count(62)
