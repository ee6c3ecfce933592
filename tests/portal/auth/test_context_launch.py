"""Context launch: a partner system opens the portal on one person with a signed, short-lived link."""

import base64
import hashlib
import hmac
import json
import re
import time
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from audit.models import AccessEvent
from portal.models import ContextLaunch, LaunchPartner
from tests.portal.auth.conftest import (
    authenticator_for,
    sign_in_with_password,
    signed_in_with_code,
    totp_code,
)
from tests.portal.auth.launch_keys import ec_key_pair, launch_link, rsa_key_pair
from tests.records.factories import (
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    RoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NHS_NUMBER = "9990000018"


@pytest.fixture
def partner_key():
    return rsa_key_pair()


@pytest.fixture
def partner(partner_key):
    hospital = OrganisationFactory(ods_code="RBD", name="Dorset County Hospital", kind="acute_trust")
    return LaunchPartner.objects.create(
        organisation=hospital, code="dch-epr", name="Dorset County Hospital EPR", public_key=partner_key[1]
    )


@pytest.fixture
def patient(gp):
    return PersonFactory(nhs_number=NHS_NUMBER, registered_practice=gp.organisation, family_name="Hardy")


def signed_in(client, user):
    signed_in_with_code(client, user)


def follow(client, url):
    """Follow redirects inside the portal, returning the last response and the URLs visited."""
    visited = []
    response = client.get(url)
    while response.status_code == 302:
        visited.append(response.url)
        response = client.get(response.url)
    return response, visited


def strip_tokens(response) -> bytes:
    return re.sub(rb"[A-Za-z0-9]{32,}", b"", response.content)


class TestAValidLaunch:
    def test_lands_on_the_persons_record_and_the_trail_names_the_partner(
        self, client, gp, partner, partner_key, patient
    ):
        signed_in(client, gp.user)

        response, visited = follow(
            client, launch_link(partner, partner_key[0], user=gp.user.email, nhs_number="999 000 0018")
        )

        assert response.status_code == 200
        assert visited[-1] == f"/people/{patient.pk}/"
        assert b"HARDY" in response.content.upper()
        launch_event, page_event = AccessEvent.objects.order_by("seq")
        assert (launch_event.action, launch_event.outcome) == ("context_launch", "allowed")
        assert launch_event.person_id == patient.pk
        assert launch_event.basis == "registered_practice"
        assert launch_event.basis_detail == "Context launch from Dorset County Hospital EPR (RBD)"
        assert launch_event.detail["partner"] == "dch-epr"
        assert page_event.person_id == patient.pk
        launch = ContextLaunch.objects.get()
        assert (launch.outcome, launch.user, launch.person_id) == ("opened", gp.user, patient.pk)

    def test_a_user_not_yet_signed_in_signs_in_with_their_code_first(
        self, client, gp, partner, partner_key, patient
    ):
        secret = authenticator_for(gp.user)

        first = client.get(launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER))
        to_login = client.get(first.url)
        assert to_login.url == "/accounts/login/?next=/launch/continue/"
        sign_in_with_password(client, gp.user.email, next_url="/launch/continue/")
        after_code = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        response, visited = follow(client, after_code.url)

        assert visited[-1] == f"/people/{patient.pk}/"
        assert response.status_code == 200

    @pytest.mark.django_db(transaction=True)  # allauth announces a new authenticator once it is committed
    def test_a_user_without_an_authenticator_sets_one_up_first(
        self, client, gp, partner, partner_key, patient
    ):
        link = launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER)
        sign_in_with_password(client, gp.user.email)

        to_continue = client.get(link)
        to_set_up = client.get(to_continue.url)
        secret = client.get(to_set_up.url).context["form"].secret
        client.post(to_set_up.url, {"code": totp_code(secret)})
        response, visited = follow(client, "/signed-in/")

        assert to_set_up.url == "/accounts/2fa/totp/activate/"
        assert visited[0] == "/launch/continue/"
        assert visited[-1] == f"/people/{patient.pk}/"
        assert response.status_code == 200

    def test_the_user_can_be_named_by_their_smartcard_id(self, client, gp, partner, partner_key, patient):
        gp.user.sds_user_id = "555123456789"
        gp.user.save()
        signed_in(client, gp.user)

        _response, visited = follow(
            client, launch_link(partner, partner_key[0], user="555123456789", nhs_number=NHS_NUMBER)
        )

        assert visited[-1] == f"/people/{patient.pk}/"

    def test_acts_in_the_organisation_the_partner_names(self, client, gp, partner, partner_key, patient):
        MembershipFactory(user=gp.user, role=RoleFactory(code="consultant"))  # a second role elsewhere
        signed_in(client, gp.user)

        _response, visited = follow(
            client,
            launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER, ods="J81005"),
        )

        assert visited[-1] == f"/people/{patient.pk}/"
        assert AccessEvent.objects.filter(action="context_launch").get().organisation_ods == "J81005"

    def test_without_an_organisation_a_user_with_several_roles_chooses_first(
        self, client, gp, partner, partner_key, patient
    ):
        MembershipFactory(user=gp.user, role=RoleFactory(code="consultant"))
        signed_in(client, gp.user)

        _, visited = follow(
            client, launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER)
        )
        assert visited[-1] == "/act-as/?next=%2Flaunch%2Fcontinue%2F"
        chosen = client.post("/act-as/", {"membership": gp.pk, "next": "/launch/continue/"})
        _response, visited = follow(client, chosen.url)

        assert visited[-1] == f"/people/{patient.pk}/"

    def test_a_partner_with_an_elliptic_curve_key_or_a_shared_secret(self, client, gp, patient):
        signed_in(client, gp.user)
        private, public = ec_key_pair()
        ec_partner = LaunchPartner.objects.create(
            organisation=gp.organisation,
            code="gp-system",
            name="GP system",
            algorithm="ES256",
            public_key=public,
        )
        secret = "s" * 40
        hs_partner = LaunchPartner.objects.create(
            organisation=gp.organisation,
            code="social-care",
            name="Social care",
            algorithm="HS256",
            shared_secret=secret,
        )

        for partner, key in ((ec_partner, private), (hs_partner, secret)):
            _response, visited = follow(
                client, launch_link(partner, key, user=gp.user.email, nhs_number=NHS_NUMBER)
            )
            assert visited[-1] == f"/people/{patient.pk}/", partner.code


class TestRefusedLinks:
    def refused(self, client, url, status=403):
        response, _ = follow(client, url)
        assert response.status_code == status
        assert b"The record could not be opened" in response.content
        return response

    def test_an_expired_link(self, client, gp, partner, partner_key, patient):
        signed_in(client, gp.user)

        response = self.refused(
            client,
            launch_link(
                partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER, issued=time.time() - 200
            ),
        )

        assert b"This launch link has expired" in response.content
        assert not ContextLaunch.objects.exists()
        event = AccessEvent.objects.get()
        assert (event.action, event.outcome, event.detail) == (
            "context_launch",
            "denied",
            {"refused": "expired"},
        )

    def test_a_link_signed_with_another_key(self, client, gp, partner, patient):
        signed_in(client, gp.user)
        someone_elses_key, _ = rsa_key_pair()

        response = self.refused(
            client, launch_link(partner, someone_elses_key, user=gp.user.email, nhs_number=NHS_NUMBER)
        )

        assert b"was not signed with Dorset County Hospital EPR&#x27;s registered key" in response.content
        assert not ContextLaunch.objects.exists()
        assert AccessEvent.objects.get().detail == {"refused": "bad_signature"}

    def test_a_link_used_twice(self, client, gp, partner, partner_key, patient):
        signed_in(client, gp.user)
        link = launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER)
        assert follow(client, link)[0].status_code == 200

        response = self.refused(client, link)

        assert b"already been used" in response.content
        assert ContextLaunch.objects.count() == 1

    def test_a_person_the_user_may_not_open_looks_like_a_person_who_does_not_exist(
        self, client, gp, partner, partner_key
    ):
        elsewhere = PersonFactory(
            nhs_number=NHS_NUMBER, family_name="Featherstonehaugh"
        )  # not this GP's patient
        signed_in(client, gp.user)

        not_allowed = self.refused(
            client, launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER), 404
        )
        unknown = self.refused(
            client, launch_link(partner, partner_key[0], user=gp.user.email, nhs_number="9990000026"), 404
        )

        assert strip_tokens(not_allowed) == strip_tokens(unknown)
        assert b"FEATHERSTONEHAUGH" not in not_allowed.content.upper()
        events = AccessEvent.objects.order_by("seq")
        assert [(e.action, e.outcome, e.person_id, e.basis) for e in events] == [
            ("context_launch", "denied", elsewhere.pk, "context_launch:dch-epr"),
            ("context_launch", "denied", None, "context_launch:dch-epr"),
        ]
        assert all(e.detail["partner"] == "dch-epr" for e in events)
        assert set(ContextLaunch.objects.values_list("outcome", flat=True)) == {"refused"}

    def test_a_link_made_for_another_user(self, client, gp, partner, partner_key, patient):
        colleague = MembershipFactory(organisation=gp.organisation, role=gp.role).user
        signed_in(client, gp.user)

        response = self.refused(
            client, launch_link(partner, partner_key[0], user=colleague.email, nhs_number=NHS_NUMBER)
        )

        assert b"made for another user" in response.content
        assert AccessEvent.objects.get().detail["refused"] == "other_user"

    def test_a_link_valid_for_too_long(self, client, gp, partner, partner_key, patient):
        signed_in(client, gp.user)

        response = self.refused(
            client,
            launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER, lifetime=3600),
        )

        assert b"valid for too long" in response.content

    def test_a_link_from_an_unregistered_or_inactive_partner(self, client, gp, partner, partner_key, patient):
        signed_in(client, gp.user)
        partner.active = False
        partner.save()

        response = self.refused(
            client, launch_link(partner, partner_key[0], user=gp.user.email, nhs_number=NHS_NUMBER)
        )

        assert b"not registered to open the shared care record" in response.content

    def test_a_link_that_chooses_a_weaker_algorithm_than_the_partner_registered(
        self, client, gp, partner, patient
    ):
        """The classic confusion: an HMAC over the partner's public key, which anyone can read."""
        signed_in(client, gp.user)

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        claims = {
            "iss": partner.code,
            "aud": "shared-care-record",
            "sub": gp.user.email,
            "nhs_number": NHS_NUMBER,
            "iat": now,
            "exp": now + 60,
            "jti": "forged-0001",
        }
        signing_input = (
            f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
        )
        signature = hmac.new(partner.public_key.encode(), signing_input.encode(), hashlib.sha256).digest()

        self.refused(client, f"/launch/?token={signing_input}.{b64(signature)}")

        assert not ContextLaunch.objects.exists()

    def test_nonsense_and_a_missing_token(self, client, gp):
        signed_in(client, gp.user)

        for url in ("/launch/?token=not-a-jwt", "/launch/"):
            assert b"This launch link is not valid" in self.refused(client, url).content

    def test_continuing_with_no_launch_waiting(self, client, gp):
        signed_in(client, gp.user)

        assert b"There is no launch waiting" in self.refused(client, "/launch/continue/", 404).content


class TestRegisteringAPartner:
    def test_keys_are_checked_against_the_algorithm(self, gp, partner_key):
        ec_public = ec_key_pair()[1]
        cases = [
            ({"algorithm": "RS256", "public_key": ""}, "public_key"),
            (
                {
                    "algorithm": "RS256",
                    "public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----",
                },
                "public_key",
            ),
            ({"algorithm": "RS256", "public_key": ec_public}, "public_key"),
            ({"algorithm": "HS256", "shared_secret": "too short"}, "shared_secret"),
        ]
        for fields, wrong in cases:
            partner = LaunchPartner(organisation=gp.organisation, code="x", name="X", **fields)
            with pytest.raises(ValidationError) as refused:
                partner.clean()
            assert wrong in refused.value.message_dict, fields
        LaunchPartner(organisation=gp.organisation, code="x", name="X", public_key=partner_key[1]).clean()

    def test_django_admin_registers_a_partner_and_never_shows_its_secret(self, client, gp):
        admin = UserFactory(is_staff=True, is_superuser=True)
        signed_in(client, admin)

        created = client.post(
            "/admin/portal/launchpartner/add/",
            {
                "organisation": gp.organisation.pk,
                "code": "social-care",
                "name": "Social care system",
                "algorithm": "HS256",
                "public_key": "",
                "shared_secret": "a" * 40,
                "active": "on",
            },
        )
        partner = LaunchPartner.objects.get(code="social-care")
        page = client.get(f"/admin/portal/launchpartner/{partner.pk}/change/")
        client.post(
            f"/admin/portal/launchpartner/{partner.pk}/change/",
            {
                "organisation": gp.organisation.pk,
                "code": "social-care",
                "name": "Renamed",
                "algorithm": "HS256",
                "public_key": "",
                "shared_secret": "",
                "active": "on",
            },
        )

        assert created.status_code == 302
        assert page.status_code == 200
        assert b"a" * 40 not in page.content
        partner.refresh_from_db()
        assert (partner.name, partner.shared_secret) == ("Renamed", "a" * 40)
        assert client.get("/admin/portal/contextlaunch/").status_code == 200


class TestTheLaunchLinkCommand:
    def test_prints_a_link_that_opens_the_record(self, client, gp, patient):
        LaunchPartner.objects.create(
            organisation=gp.organisation,
            code="gp-system",
            name="GP system",
            algorithm="HS256",
            shared_secret="k" * 40,
        )
        signed_in(client, gp.user)
        out = StringIO()

        call_command(
            "launch_link",
            partner="gp-system",
            user=gp.user.email,
            nhs_number="999 000 0018",
            base_url="",
            stdout=out,
        )
        _, visited = follow(client, out.getvalue().strip())

        assert visited[-1] == f"/people/{patient.pk}/"

    def test_a_key_pair_partner_needs_its_private_key(self, partner, partner_key, tmp_path):
        with pytest.raises(CommandError, match="--private-key"):
            call_command("launch_link", partner="dch-epr", user="a@example.nhs.uk", nhs_number=NHS_NUMBER)
        pem = tmp_path / "key.pem"
        pem.write_bytes(
            partner_key[0].private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        out = StringIO()
        call_command(
            "launch_link",
            partner="dch-epr",
            user="a@example.nhs.uk",
            nhs_number=NHS_NUMBER,
            private_key=pem,
            stdout=out,
        )
        assert "/launch/?token=" in out.getvalue()
