"""Sign-in throttling, and sessions that end when idle."""

import time

import pytest

from tests.conftest import PASSWORD
from tests.portal.auth.conftest import sign_in_with_password
from tests.records.factories import MembershipFactory

pytestmark = pytest.mark.django_db


class TestThrottling:
    def test_after_five_wrong_passwords_the_account_is_refused_with_a_clear_message(self, client, gp):
        for _ in range(5):
            wrong = sign_in_with_password(client, gp.user.email, password="not the password")
            assert b"email address or password you entered is not correct" in wrong.content

        sixth = sign_in_with_password(client, gp.user.email, password="not the password")
        even_the_right_one = sign_in_with_password(client, gp.user.email, password=PASSWORD)

        for refused in (sixth, even_the_right_one):
            assert refused.status_code == 200
            assert b"Too many failed attempts to sign in to this account. Wait 15 minutes" in refused.content
        assert "_auth_user_id" not in client.session

    def test_the_lockout_is_per_account_not_for_everyone_behind_the_same_address(self, client, gp):
        for _ in range(6):
            sign_in_with_password(client, gp.user.email, password="not the password")
        colleague = MembershipFactory(organisation=gp.organisation, role=gp.role)

        response = sign_in_with_password(client, colleague.user.email)

        assert response.status_code == 302  # on to the authenticator set-up, not refused
        assert client.session["_auth_user_id"] == str(colleague.user.pk)

    def test_a_whole_ward_behind_one_address_can_sign_in_at_shift_change(self, gp):
        from django.test import Client

        staff = [MembershipFactory(organisation=gp.organisation, role=gp.role).user for _ in range(40)]

        signed_in = [sign_in_with_password(Client(), user.email).status_code for user in staff]

        assert signed_in == [302] * 40

    def test_the_lockout_follows_the_setting(self, client, gp, settings):
        settings.ACCOUNT_RATE_LIMITS = {"login_failed": "2/15m/key"}
        for _ in range(2):
            sign_in_with_password(client, gp.user.email, password="not the password")

        third = sign_in_with_password(client, gp.user.email, password=PASSWORD)

        assert b"Too many failed attempts" in third.content


class TestIdleTimeout:
    """Real waiting against a two-second session: the session store on PostgreSQL decides."""

    def test_a_session_left_idle_is_signed_out(self, client, gp, settings):
        settings.DCR_REQUIRE_MFA = False
        settings.SESSION_COOKIE_AGE = 2
        sign_in_with_password(client, gp.user.email)
        assert client.get("/people/").status_code == 200

        time.sleep(3)
        response = client.get("/people/")

        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=/people/")

    def test_a_session_in_use_stays_signed_in_past_the_idle_limit(self, client, gp, settings):
        settings.DCR_REQUIRE_MFA = False
        settings.SESSION_COOKIE_AGE = 2
        sign_in_with_password(client, gp.user.email)

        for _ in range(4):  # four seconds in all, never two idle
            time.sleep(1)
            assert client.get("/people/").status_code == 200

    def test_the_session_cookie_ends_with_the_browser_and_the_production_default_is_fifteen_minutes(
        self, client, gp
    ):
        from dcr.settings import base

        response = sign_in_with_password(client, gp.user.email)

        cookie = response.cookies["sessionid"]
        assert cookie["expires"] == ""
        assert cookie["max-age"] == ""
        assert base.SESSION_COOKIE_AGE == 15 * 60
        assert base.SESSION_SAVE_EVERY_REQUEST


def test_wrong_security_codes_are_throttled_per_account_too(client, gp):
    from tests.portal.auth.conftest import authenticator_for, totp_code

    secret = authenticator_for(gp.user)
    sign_in_with_password(client, gp.user.email)
    wrong = "123456" if totp_code(secret) != "123456" else "654321"
    for _ in range(5):
        client.post("/accounts/2fa/authenticate/", {"code": wrong})

    refused = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})

    assert b"Too many failed attempts" in refused.content
    assert client.get("/people/").status_code == 302
