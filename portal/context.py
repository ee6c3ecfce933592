"""The organisation and role a signed-in user acts in for this session."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from audit.services import session_ref
from records.access import Actor, PersonNotFound, person_for, person_shown
from records.models import Membership
from records.selectors import membership_list_for

SESSION_KEY = "acting_membership_id"


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def actor_for(request) -> Actor | None:
    memberships = list(membership_list_for(user=request.user))
    chosen = request.session.get(SESSION_KEY)
    membership = next((m for m in memberships if m.pk == chosen), None)
    if membership is None and len(memberships) == 1:
        membership = memberships[0]
    if membership is None:
        return None
    return Actor(
        user=request.user,
        membership=membership,
        client_ip=client_ip(request),
        session_ref=session_ref(request.session.session_key),
        launched_by=request.session.get("launched_by", ""),
    )


def acting_membership_set(request, membership: Membership) -> None:
    request.session[SESSION_KEY] = membership.pk


def acting(view):
    """Signed in and acting in one organisation and role; otherwise off to choose one."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        actor = actor_for(request)
        if actor is None:
            return redirect(f"{reverse('portal:act_as')}?{urlencode({'next': request.get_full_path()})}")
        request.actor = actor
        return view(request, *args, **kwargs)

    return wrapper


@dataclass
class Shown:
    """What a person page is about to show, so the access event can say exactly that.

    `response`, when set, is sent instead of rendering `template` (a download), after the event is written.
    `banner=False` for partials (HTMX fragments) that do not repeat the person banner.
    """

    template: str = ""
    context: dict = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    entry_ids: list[int] = field(default_factory=list)
    response: HttpResponse | None = None
    banner: bool = True
    detail: dict = field(default_factory=dict)


def person_page(page: str, action: str = "view_record"):
    """The one door for portal pages about a person.

    The wrapped view receives the person and basis only if the actor may open them (otherwise a 404
    indistinguishable from a missing person, with the refusal audited). It returns a Shown; the access
    event naming the page, categories and entries (the banner's allergies and alerts included) is written
    before anything is rendered or sent.
    """

    def decorate(view):
        @acting
        @functools.wraps(view)
        def wrapper(request, person_id: int, *args, **kwargs):
            from portal.record import banner_get

            actor = request.actor
            try:
                person, basis = person_for(
                    actor=actor, person_id=person_id, action=action, detail={"page": page}
                )
            except PersonNotFound:
                raise Http404("No such person") from None
            shown = view(request, person, basis, *args, **kwargs)
            if isinstance(shown, HttpResponse):  # a redirect after a form: shows nothing
                return shown
            categories, entry_ids = set(shown.categories), list(shown.entry_ids)
            banner = None
            if shown.banner and not getattr(request, "htmx", False):
                banner = banner_get(actor=actor, person=person, basis=basis)
                categories |= banner.categories
                entry_ids += [pk for pk in banner.entry_ids if pk not in set(entry_ids)]
            person_shown(
                actor=actor,
                person=person,
                basis=basis,
                action=action,
                detail={"page": page, "categories": sorted(categories), "entries": entry_ids, **shown.detail},
            )
            if shown.response is not None:
                return shown.response
            return render(
                request,
                shown.template,
                {
                    **shown.context,
                    "person": person,
                    "basis": basis,
                    "actor": actor,
                    "banner": banner,
                    "section": page,
                },
            )

        wrapper.reads_person_data = True
        return wrapper

    return decorate
