"""Multi-factor authentication is required for every account: until a signed-in user has an authenticator
app, the only pages they can reach are the ones that set it up (and signing out).

allauth.mfa asks for the code at sign-in once an authenticator exists; this middleware makes having one
compulsory. It covers the portal and Django admin alike, because it sits in front of every view. A session
counts only if it gave a code at sign-in or set the authenticator up itself: one signed in before an
authenticator was set up elsewhere is signed out and must sign in again.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

SESSION_FLAG = "dcr_mfa_ready"
NEXT_KEY = "dcr_after_mfa_setup"

# Reachable before an authenticator exists: setting one up, its recovery codes, re-entering the password
# allauth asks for before setting one up, and signing out.
SET_UP_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_logout",
        "healthz",
        # A partner's launch link is only checked and kept here (it shows nothing), so that its few minutes
        # of validity are not spent setting up an authenticator; the person opens after set-up.
        "launch",
    }
)


def mfa_required() -> bool:
    return getattr(settings, "DCR_REQUIRE_MFA", True)


def has_authenticator(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def after_set_up_url(request: HttpRequest) -> str:
    """Where the user was going when they were sent to set up an authenticator."""
    return request.session.get(NEXT_KEY) or reverse("portal:home")


class RequireMultiFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            if self._must_set_up(request):
                return self._send_to_set_up(request)
        except _SignInAgain:
            return self._sign_in_again(request)
        return self.get_response(request)

    def _sign_in_again(self, request: HttpRequest) -> HttpResponse:
        from django.contrib.auth import logout

        next_url = request.get_full_path() if request.method == "GET" else reverse("portal:home")
        logout(request)
        target = f"{reverse('account_login')}?{urlencode({'next': next_url})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        return redirect(target)

    def _must_set_up(self, request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if not mfa_required() or user is None or not user.is_authenticated:
            return False
        if request.session.get(SESSION_FLAG):
            return False
        try:
            url_name = resolve(request.path_info).url_name
        except Resolver404:
            return False  # a 404 page shows nothing
        if url_name in SET_UP_URL_NAMES:
            return False
        if not has_authenticator(user):
            return True
        if not _passed_mfa(request, user):
            # An authenticator exists, but this session never gave a code: it was signed in before the
            # authenticator was set up elsewhere. It must sign in again, code and all.
            raise _SignInAgain
        request.session[SESSION_FLAG] = True
        return False

    def _send_to_set_up(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and not getattr(request, "htmx", False):
            request.session[NEXT_KEY] = request.get_full_path()
        messages.info(
            request,
            "Set up an authenticator app before you continue. Every account on the shared care record "
            "needs one.",
            fail_silently=True,
        )
        target = reverse("mfa_activate_totp")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        return redirect(target)


class _SignInAgain(Exception):
    pass


def _passed_mfa(request: HttpRequest, user) -> bool:
    """Whether this session gave a code at sign-in (allauth records each way a session authenticated)."""
    from allauth.account.internal.flows.login import get_authentication_records

    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def _ready_now(sender, request=None, **kwargs) -> None:
    # The authenticator was set up in this very session, with a valid code: the session has proved it.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_FLAG] = True


def _forget_readiness(sender, request=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_FLAG, None)


def connect_signals() -> None:
    from allauth.mfa import signals

    receiver(signals.authenticator_added, dispatch_uid="dcr-mfa-added")(_ready_now)
    receiver(signals.authenticator_removed, dispatch_uid="dcr-mfa-removed")(_forget_readiness)
