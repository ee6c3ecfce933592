"""Pages around signing in: the context launch from a partner system."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audit.models import AccessEvent
from audit.services import access_event_record
from portal.context import acting_membership_set, actor_for
from portal.launch import LaunchRefused, launch_membership, launch_open, launch_pending, launch_receive
from portal.mfa import NEXT_KEY, after_set_up_url
from records.access import PersonNotFound

LAUNCH_SESSION_KEY = "dcr_context_launch"


@require_GET
@login_required
def mfa_done(request: HttpRequest) -> HttpResponse:
    """After setting up an authenticator and saving the recovery codes: back to where the user was going."""
    target = after_set_up_url(request)
    request.session.pop(NEXT_KEY, None)
    return redirect(target)


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "portal/launch_refused.html", {"message": message}, status=status)


@require_GET
@never_cache
def launch(request: HttpRequest) -> HttpResponse:
    """A partner's launch link arrives: verify and record it, then on to signing in and the record."""
    try:
        context_launch = launch_receive(token=request.GET.get("token", ""))
    except LaunchRefused as refusal:
        actor = actor_for(request) if request.user.is_authenticated else None
        if actor is not None:
            access_event_record(
                actor=actor,
                action=AccessEvent.Action.CONTEXT_LAUNCH,
                outcome=AccessEvent.Outcome.DENIED,
                detail={"refused": refusal.reason},
            )
        return _refused(request, refusal.message, status=403)
    request.session[LAUNCH_SESSION_KEY] = context_launch.pk
    return redirect("portal:launch_continue")


@require_GET
@never_cache
@login_required
def launch_continue(request: HttpRequest) -> HttpResponse:
    """Signed in (and past MFA): act in the organisation the partner named, then open the person."""
    context_launch = launch_pending(launch_id=request.session.get(LAUNCH_SESSION_KEY))
    if context_launch is None:
        return _refused(request, "There is no launch waiting. Open the record again from your system.", 404)
    membership = launch_membership(launch=context_launch, user=request.user)
    if membership is not None:
        acting_membership_set(request, membership)
    actor = actor_for(request)
    if actor is None:
        query = urlencode({"next": reverse("portal:launch_continue")})
        return redirect(f"{reverse('portal:act_as')}?{query}")
    request.session.pop(LAUNCH_SESSION_KEY, None)
    try:
        person = launch_open(launch=context_launch, actor=actor)
    except LaunchRefused as refusal:
        return _refused(request, refusal.message, status=403)
    except PersonNotFound:
        # The same words whether the person does not exist or the rules do not let this user open them.
        return _refused(
            request,
            "There is no record you can open for this person. If you are caring for them and need to see "
            "it, use emergency access from the search page.",
            status=404,
        )
    return redirect("portal:person_detail", person_id=person.pk)
