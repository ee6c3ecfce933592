"""Multi-factor authentication is required for every account, before the portal or Django admin."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.portal.auth.conftest import (
    authenticator_for,
    recovery_codes_of,
    sign_in_with_password,
    totp_code,
)
from tests.records.factories import UserFactory

pytestmark = pytest.mark.django_db

SET_UP = "/accounts/2fa/totp/activate/"


class TestWithoutAnAuthenticator:
    def test_signing_in_sends_the_user_to_set_one_up_and_nowhere_else(self, client, gp):
        response = sign_in_with_password(client, gp.user.email)
        landing = client.get(response.url, follow=True)

        assert landing.redirect_chain[-1][0] == SET_UP
        assert b"Set up your authenticator app" in landing.content
        for blocked in ("/", "/people/", "/act-as/", "/admin/", "/launch/continue/"):
            refused = client.get(blocked)
            assert (refused.status_code, refused.url) == (302, SET_UP), blocked

    def test_django_admin_is_blocked_for_a_superuser_too(self, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        sign_in_with_password(client, admin.email)

        response = client.get("/admin/records/person/")

        assert (response.status_code, response.url) == (302, SET_UP)

    def test_htmx_requests_are_told_to_go_to_set_up(self, client, gp):
        sign_in_with_password(client, gp.user.email)

        response = client.get("/people/", headers={"HX-Request": "true"})

        assert response.headers["HX-Redirect"] == SET_UP

    @pytest.mark.django_db(transaction=True)  # allauth announces a new authenticator once it is committed
    def test_setting_one_up_gives_recovery_codes_then_returns_where_the_user_was_going(self, client, gp):
        sign_in_with_password(client, gp.user.email)
        client.get("/people/?nhs_number=9990000018")  # where they were going
        page = client.get(SET_UP)
        secret = page.context["form"].secret

        wrong = client.post(SET_UP, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
        assert wrong.status_code == 200
        assert b"There is a problem" in wrong.content

        done = client.post(SET_UP, {"code": totp_code(secret)}, follow=True)
        assert done.redirect_chain[-1][0] == "/accounts/2fa/recovery-codes/"
        codes = recovery_codes_of(gp.user)
        assert len(codes) == 10
        assert all(code.encode() in done.content for code in codes)

        (notice,) = mail.outbox  # so a user learns if someone else enrolled with their password
        assert notice.to == [gp.user.email]
        assert "authenticator" in notice.subject.lower()

        onward = client.get(reverse("portal:mfa_done"))
        assert onward.url == "/people/?nhs_number=9990000018"
        assert client.get("/people/").status_code == 200

    def test_a_session_signed_in_before_an_authenticator_was_set_up_elsewhere_must_sign_in_again(
        self, client, gp
    ):
        sign_in_with_password(client, gp.user.email)  # stuck at set-up, say by someone who knows the password
        authenticator_for(gp.user)  # the real user sets one up in their own session

        response = client.get("/people/")

        assert response.url == "/accounts/login/?next=%2Fpeople%2F"
        assert "_auth_user_id" not in client.session

    def test_is_not_asked_for_when_the_setting_is_off(self, client, gp, settings):
        settings.DCR_REQUIRE_MFA = False
        sign_in_with_password(client, gp.user.email)

        assert client.get("/people/").status_code == 200


class TestWithAnAuthenticator:
    def test_django_admins_own_sign_in_form_cannot_skip_the_code(self, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        authenticator_for(admin)

        shown = client.get("/admin/login/?next=/admin/")
        posted = client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD})

        assert shown.url == "/accounts/login/?next=%2Fadmin%2F"
        assert posted.url == "/accounts/login/?next=%2Fadmin%2F"
        assert "_auth_user_id" not in client.session
        sign_in_with_password(client, admin.email, next_url="/admin/")
        assert client.get("/admin/").status_code == 302  # still waiting for the code
        assert "_auth_user_id" not in client.session

    def test_the_password_alone_does_not_sign_in(self, client, gp):
        authenticator_for(gp.user)

        response = sign_in_with_password(client, gp.user.email)

        assert response.url == "/accounts/2fa/authenticate/"
        assert client.get("/people/").url.startswith("/accounts/login/")

    def test_the_code_from_the_app_completes_sign_in(self, client, gp):
        secret = authenticator_for(gp.user)
        sign_in_with_password(client, gp.user.email, next_url="/people/")

        done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})

        assert done.url == "/people/"
        assert client.get("/people/").status_code == 200

    def test_a_wrong_code_is_refused_with_a_clear_message(self, client, gp):
        secret = authenticator_for(gp.user)
        sign_in_with_password(client, gp.user.email)
        wrong = "123456" if totp_code(secret) != "123456" else "654321"

        response = client.post("/accounts/2fa/authenticate/", {"code": wrong})

        assert response.status_code == 200
        assert b"There is a problem" in response.content
        assert b"Incorrect code" in response.content
        assert client.get("/people/").status_code == 302

    def test_a_recovery_code_signs_in_once(self, client, gp):
        authenticator_for(gp.user)
        code = recovery_codes_of(gp.user)[0]
        sign_in_with_password(client, gp.user.email)
        assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
        client.post("/accounts/logout/")

        sign_in_with_password(client, gp.user.email)
        again = client.post("/accounts/2fa/authenticate/", {"code": code})

        assert again.status_code == 200
        assert b"Incorrect code" in again.content
        assert code not in recovery_codes_of(gp.user)

    def test_the_same_app_code_cannot_be_used_twice(self, client, gp):
        secret = authenticator_for(gp.user)
        code = totp_code(secret)
        sign_in_with_password(client, gp.user.email)
        client.post("/accounts/2fa/authenticate/", {"code": code})
        client.post("/accounts/logout/")

        sign_in_with_password(client, gp.user.email)
        replayed = client.post("/accounts/2fa/authenticate/", {"code": code})

        assert replayed.status_code == 200
        assert b"Incorrect code" in replayed.content


def test_after_password_and_code_a_user_with_several_roles_chooses_one(client, gp):
    from tests.records.factories import MembershipFactory, RoleFactory

    consultant = MembershipFactory(user=gp.user, role=RoleFactory(code="consultant", name="Consultant"))
    secret = authenticator_for(gp.user)
    sign_in_with_password(client, gp.user.email, next_url="/people/")

    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    to_choose = client.get(done.url)
    choice = client.get(to_choose.url)
    chosen = client.post("/act-as/", {"membership": consultant.pk, "next": "/people/"})

    assert to_choose.url == "/act-as/?next=%2Fpeople%2F"
    assert b"Consultant at" in choice.content
    assert b"GP at" in choice.content
    assert chosen.url == "/people/"
    assert client.get("/people/").status_code == 200
    assert client.session["acting_membership_id"] == consultant.pk
