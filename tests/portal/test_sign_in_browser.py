import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.records.factories import MembershipFactory, OrganisationFactory, RoleFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_professional_signs_in_and_lands_on_find_a_person(live_server, page, screenshot):
    practice = OrganisationFactory(ods_code="J81005", name="Bridport Medical Centre", kind="gp_practice")
    membership = MembershipFactory(organisation=practice, role=RoleFactory(code="gp", name="GP"))

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("sign-in")

    page.get_by_label("Email address").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # One role: straight to finding a person.
    expect(page).to_have_url(f"{live_server.url}/people/")
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()
    screenshot("find-a-person")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_clear_message(live_server, page):
    membership = MembershipFactory()

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(membership.user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("not correct")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
