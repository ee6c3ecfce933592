"""How allauth signs people in here: provisioned accounts only, by password or through the region's
identity provider, with messages a professional can act on."""

from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.shortcuts import render

from records.models import User


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Accounts are provisioned by partner organisations; nobody signs themselves up."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": "The email address or password you entered is not correct.",
        "too_many_login_attempts": (
            "Too many failed attempts to sign in to this account. Wait {minutes} minutes and try again, "
            "or ask your organisation's administrator to reset your password."
        ),
    }

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.error_messages = {
            **self.error_messages,
            "too_many_login_attempts": self.error_messages["too_many_login_attempts"].format(
                minutes=getattr(settings, "DCR_LOGIN_LOCKOUT_MINUTES", 15)
            ),
        }

    def is_open_for_signup(self, request) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Setting up an authenticator is compulsory straight after a first sign-in: asking for the password
        the user has just typed would only get in the way. Later changes still ask for it again."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        request = self.request or context.request
        if required and app == "allauth.mfa" and request is not None and _signed_in_just_now(request):
            return False
        return required


def _signed_in_just_now(request) -> bool:
    from allauth.account import app_settings
    from allauth.account.internal.flows.login import get_authentication_records

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return bool(records) and time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT


def provisioned_user_for_email(email: str | None) -> User | None:
    """The active account the organisation provisioned for this email address, if exactly one."""
    if not email:
        return None
    users = list(User.objects.filter(email__iexact=email.strip(), is_active=True)[:2])
    return users[0] if len(users) == 1 else None


class ProvisionedOnlySocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on maps the identity provider's user to an account provisioned here, by email address.

    The identity provider is the region's or the nation's, configured by us, so the address it asserts
    is trusted; an address with no account here is refused, never signed up.
    """

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.is_existing:
            return
        email = sociallogin.user.email if sociallogin.user else None
        user = provisioned_user_for_email(email)
        if user is None:
            raise ImmediateHttpResponse(
                render(
                    request,
                    "socialaccount/no_account.html",
                    {"email": email, "provider": sociallogin.account.get_provider()},
                    status=403,
                )
            )
        sociallogin.connect(request, user)
