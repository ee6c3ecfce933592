"""Sign-in tests: multi-factor authentication is on here, as in production."""

import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache

from tests.conftest import PASSWORD
from tests.records.factories import GpPracticeFactory, MembershipFactory, RoleFactory


@pytest.fixture(autouse=True)
def mfa_required(settings):
    settings.DCR_REQUIRE_MFA = True


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttling counts and used TOTP codes live in the cache: each test starts from none."""
    cache.clear()
    yield
    cache.clear()


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows now, computed with allauth's own HOTP."""
    return format_hotp_value(hotp_value(secret, int(at or time.time()) // 30))


def authenticator_for(user) -> str:
    """Give the user an authenticator app and recovery codes, as set-up would; returns the TOTP secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes_of(user) -> list[str]:
    return RecoveryCodes(Authenticator.objects.get(user=user, type="recovery_codes")).get_unused_codes()


@pytest.fixture
def gp(db):
    """A GP at one practice, with a password and no authenticator yet."""
    practice = GpPracticeFactory(ods_code="J81005", name="Bridport Medical Centre")
    return MembershipFactory(
        organisation=practice, role=RoleFactory(code="gp", name="GP", categories=["problem"])
    )


def sign_in_with_password(client, email: str, password: str = PASSWORD, next_url: str = ""):
    data = {"login": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA rules on the page as shown; only serious and critical ones count."""
    page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", tags)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def signed_in_with_code(client, user) -> str:
    """A session that signed in and gave its code, for tests about what comes after (force_login, then the
    mark the middleware sets once a session has given a code). Returns the TOTP secret."""
    from portal.mfa import SESSION_FLAG

    secret = authenticator_for(user)
    client.force_login(user)
    session = client.session
    session[SESSION_FLAG] = True
    session.save()
    return secret
