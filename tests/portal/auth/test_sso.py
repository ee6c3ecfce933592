"""Single sign-on through OpenID Connect, against a real provider on loopback (see oidc_provider.py)."""

import re
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from allauth.socialaccount.models import SocialAccount

from records.models import User
from tests.portal.auth.conftest import authenticator_for, totp_code
from tests.portal.oidc_provider import LoopbackOIDCProvider
from tests.records.factories import MembershipFactory, RoleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(settings):
    provider = LoopbackOIDCProvider().start()
    settings.SOCIALACCOUNT_PROVIDERS = provider.socialaccount_settings()
    yield provider
    provider.stop()


def claims_for(email: str, sub: str = "cis2-uid-555123456789") -> dict:
    return {"sub": sub, "email": email, "email_verified": True, "name": "Jo Hardy"}


def sign_in_through(client, idp: LoopbackOIDCProvider):
    """Press the single sign-on button, let the identity provider answer, come back to the portal."""
    page = client.get("/accounts/login/")
    action = re.search(rb'<form method="post" action="([^"]+/oidc/idp/login/[^"]*)"', page.content).group(1)
    to_idp = client.post(action.decode().replace("&amp;", "&"))
    assert to_idp.url.startswith(f"{idp.issuer}/authorize?")
    back = requests.get(to_idp.url, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlparse(back.headers["Location"])
    assert callback.path == "/accounts/oidc/idp/login/callback/"
    return client.get(f"{callback.path}?{callback.query}")


class TestSingleSignOn:
    def test_the_sign_in_page_offers_the_identity_provider_configured(self, client, idp):
        page = client.get("/accounts/login/")

        assert b"Sign in with Test Care Identity" in page.content

    def test_a_provisioned_user_signs_in_then_gives_their_code(self, client, idp, gp):
        secret = authenticator_for(gp.user)
        idp.user = claims_for(gp.user.email.upper())  # addresses match whatever their case

        response = sign_in_through(client, idp)
        assert response.url == "/accounts/2fa/authenticate/"
        assert client.get("/people/").status_code == 302  # not signed in before the code
        done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        home = client.get(done.url)

        assert home.url == "/people/"
        assert client.get("/people/").status_code == 200
        account = SocialAccount.objects.get()
        assert (account.user, account.uid, account.provider) == (gp.user, "cis2-uid-555123456789", "idp")
        assert idp.requests[:1] == ["GET /.well-known/openid-configuration"]
        assert {"GET /authorize", "POST /token", "GET /userinfo"} <= set(idp.requests)

    def test_the_second_time_the_link_to_the_account_is_used(self, client, idp, gp):
        secret = authenticator_for(gp.user)
        idp.user = claims_for(gp.user.email)
        sign_in_through(client, idp)
        client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        client.post("/accounts/logout/")
        gp.user.email = (
            "renamed@example.nhs.uk"  # the identity provider's subject, not the address, now decides
        )
        gp.user.save()

        response = sign_in_through(client, idp)

        assert response.url == "/accounts/2fa/authenticate/"
        assert SocialAccount.objects.count() == 1

    def test_someone_with_no_account_here_is_refused_and_nothing_is_created(self, client, idp, gp):
        idp.user = claims_for("stranger@example.nhs.uk", sub="cis2-uid-999")
        users_before = User.objects.count()

        response = sign_in_through(client, idp)

        assert response.status_code == 403
        assert b"You do not have an account on the shared care record" in response.content
        assert b"stranger@example.nhs.uk" in response.content
        assert User.objects.count() == users_before
        assert not SocialAccount.objects.exists()
        assert "_auth_user_id" not in client.session

    def test_a_deactivated_account_is_refused(self, client, idp, gp):
        gp.user.is_active = False
        gp.user.save()
        idp.user = claims_for(gp.user.email)

        response = sign_in_through(client, idp)

        assert response.status_code == 403
        assert "_auth_user_id" not in client.session

    def test_cancelling_at_the_identity_provider(self, client, idp, gp):
        idp.deny = True

        response = sign_in_through(client, idp)

        assert b"Sign-in cancelled" in client.get(response.url).content
        assert "_auth_user_id" not in client.session

    def test_an_answer_that_cannot_be_checked_signs_no_one_in(self, client, idp, gp, settings):
        """Here the portal holds the wrong client secret, so the provider refuses to hand over tokens."""
        idp.user = claims_for(gp.user.email)
        idp.client_secret = "rotated-at-the-provider"

        response = sign_in_through(client, idp)

        assert b"Single sign-on did not work" in response.content
        assert "_auth_user_id" not in client.session

    def test_a_first_sign_in_without_an_authenticator_goes_to_set_one_up(self, client, idp, gp):
        idp.user = claims_for(gp.user.email)

        response = sign_in_through(client, idp)
        landing = client.get(response.url, follow=True)

        assert landing.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
        assert b"Set up your authenticator app" in landing.content

    def test_a_user_with_several_roles_chooses_one_after_signing_in(self, client, idp, gp):
        MembershipFactory(user=gp.user, role=RoleFactory(code="consultant", name="Consultant"))
        secret = authenticator_for(gp.user)
        idp.user = claims_for(gp.user.email)

        sign_in_through(client, idp)
        done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        home = client.get(done.url)
        to_choose = client.get("/people/")
        chosen = client.post("/act-as/", {"membership": gp.pk, "next": "/people/"})

        assert home.status_code == 200
        assert b"Consultant" in home.content
        assert to_choose.url.startswith("/act-as/")
        assert chosen.url == "/people/"
        assert client.get("/people/").status_code == 200


class TestTheProviderItself:
    """The loopback provider is only worth testing against if it behaves like a real one."""

    def test_its_id_tokens_verify_against_its_published_keys(self, idp):
        discovery = requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=5).json()
        idp.user = claims_for("a@example.nhs.uk")
        verifier = "v" * 50
        import base64
        import hashlib

        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        authorize = requests.get(
            discovery["authorization_endpoint"],
            params={
                "client_id": idp.client_id,
                "redirect_uri": "http://testserver/cb",
                "response_type": "code",
                "scope": "openid email",
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
            timeout=5,
        )
        code = parse_qs(urlparse(authorize.headers["Location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://testserver/cb",
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
        }

        wrong_verifier = requests.post(
            discovery["token_endpoint"], data={**form, "code_verifier": "x" * 50}, timeout=5
        )
        assert wrong_verifier.status_code == 400  # and the code is spent
        authorize = requests.get(authorize.request.url, allow_redirects=False, timeout=5)
        form["code"] = parse_qs(urlparse(authorize.headers["Location"]).query)["code"][0]
        token = requests.post(
            discovery["token_endpoint"], data={**form, "code_verifier": verifier}, timeout=5
        ).json()
        jwks = jwt.PyJWKSet.from_dict(requests.get(discovery["jwks_uri"], timeout=5).json())
        kid = jwt.get_unverified_header(token["id_token"])["kid"]
        claims = jwt.decode(
            token["id_token"], jwks[kid].key, algorithms=["RS256"], audience=idp.client_id, issuer=idp.issuer
        )

        assert claims["email"] == "a@example.nhs.uk"
        assert (
            requests.get(
                discovery["userinfo_endpoint"],
                timeout=5,
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ).json()["sub"]
            == claims["sub"]
        )
