"""Signing in as a professional would, in a real browser: authenticator set-up, codes, single sign-on and
a context launch. Each page is screenshotted and checked with axe-core."""

import re
import time

import pytest
from playwright.sync_api import expect

from portal.models import LaunchPartner
from tests.conftest import PASSWORD
from tests.portal.auth.conftest import (
    authenticator_for,
    serious_accessibility_violations,
    totp_code,
)
from tests.portal.auth.launch_keys import launch_link, rsa_key_pair
from tests.portal.oidc_provider import LoopbackOIDCProvider
from tests.records.factories import OrganisationFactory, PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def look(page, screenshot, step: str) -> None:
    screenshot(step)
    assert serious_accessibility_violations(page) == [], step


def next_code(secret: str) -> str:
    """The code the app shows in the next 30-second step: accepted (one step of drift is allowed) and
    never the one just used."""
    return totp_code(secret, time.time() + 30)


def test_a_professional_sets_up_an_authenticator_then_signs_in_with_a_code(live_server, page, screenshot, gp):
    page.goto(f"{live_server.url}/people/")
    look(page, screenshot, "1-sign-in")
    page.get_by_label("Email address").fill(gp.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    look(page, screenshot, "2-set-up-authenticator")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.get_by_label("Code from your authenticator app").fill(
        "000000" if totp_code(secret) != "000000" else "111111"
    )
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    look(page, screenshot, "3-set-up-wrong-code")
    page.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    look(page, screenshot, "4-recovery-codes")
    page.get_by_role("button", name="I have saved my recovery codes").click()
    expect(page).to_have_url(f"{live_server.url}/people/")
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email address").fill(gp.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your security code")).to_be_visible()
    look(page, screenshot, "5-security-code")
    page.get_by_label("Security code").fill(next_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()


def test_single_sign_on_through_the_identity_provider_then_the_code(
    live_server, page, screenshot, gp, settings
):
    idp = LoopbackOIDCProvider().start()
    try:
        settings.SOCIALACCOUNT_PROVIDERS = idp.socialaccount_settings(name="NHS Care Identity")
        idp.user = {"sub": "cis2-555", "email": gp.user.email, "email_verified": True}
        secret = authenticator_for(gp.user)

        page.goto(f"{live_server.url}/")
        look(page, screenshot, "1-sign-in-with-sso")
        page.get_by_role("button", name="Sign in with NHS Care Identity").click()

        expect(page.get_by_role("heading", name="Enter your security code")).to_be_visible()
        assert "POST /token" in idp.requests
        page.get_by_label("Security code").fill(totp_code(secret))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Find a person")).to_be_visible()
    finally:
        idp.stop()


def test_a_partner_system_opens_a_persons_record(live_server, page, screenshot, gp):
    private_key, public_key = rsa_key_pair()
    partner = LaunchPartner.objects.create(
        organisation=OrganisationFactory(ods_code="RBD", name="Dorset County Hospital", kind="acute_trust"),
        code="dch-epr",
        name="Dorset County Hospital EPR",
        public_key=public_key,
    )
    person = PersonFactory(nhs_number="9990000018", registered_practice=gp.organisation, family_name="Hardy")
    secret = authenticator_for(gp.user)

    page.goto(
        live_server.url + launch_link(partner, private_key, user=gp.user.email, nhs_number=person.nhs_number)
    )
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email address").fill(gp.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill(totp_code(secret))
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{live_server.url}/people/{person.pk}/")
    expect(page.get_by_text(re.compile("Hardy", re.IGNORECASE)).first).to_be_visible()
    screenshot("1-launched-record")

    page.goto(
        live_server.url
        + launch_link(partner, rsa_key_pair()[0], user=gp.user.email, nhs_number=person.nhs_number)
    )
    expect(page.get_by_role("heading", name="The record could not be opened")).to_be_visible()
    look(page, screenshot, "2-launch-refused")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/accounts/password/reset/", "Password Reset"),
        ("/accounts/logout/", "Sign Out"),
        ("/accounts/2fa/", "Two-Factor Authentication"),
        ("/accounts/2fa/recovery-codes/generate/", "Recovery Codes"),
        ("/accounts/2fa/totp/deactivate/", "Deactivate Authenticator App"),
        ("/accounts/reauthenticate/", "Confirm Access"),
        ("/accounts/3rdparty/login/cancelled/", "Sign-in cancelled"),
    ],
    ids=[
        "password-reset",
        "sign-out",
        "mfa",
        "new-recovery-codes",
        "deactivate",
        "reauthenticate",
        "sso-cancelled",
    ],
)
def test_the_other_account_pages_follow_the_design_system(live_server, page, screenshot, gp, path, heading):
    secret = authenticator_for(gp.user)
    if path not in ("/accounts/password/reset/", "/accounts/3rdparty/login/cancelled/"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(gp.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Security code").fill(totp_code(secret))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Find a person")).to_be_visible()

    page.goto(f"{live_server.url}{path}")

    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    expect(page.locator("link[href*='nhsuk-frontend']")).to_have_count(1)
    look(page, screenshot, "page")
