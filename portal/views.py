from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import AccessEvent
from audit.services import access_event_record
from portal.context import Shown, acting, acting_membership_set, person_page
from portal.forms import EmergencyAccessForm, PersonSearchForm
from records.access import (
    AccessRefused,
    PersonNotFound,
    break_glass_grant,
    entry_list_visible_to,
    person_search,
    restricted_information_exists,
    self_claim_grant,
)
from records.selectors import membership_list_for


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = membership_list_for(user=request.user)
    if len(memberships) == 1 or request.session.get("acting_membership_id"):
        return redirect("portal:person_search")
    return render(request, "portal/home.html", {"memberships": memberships})


@require_http_methods(["GET", "POST"])
@login_required
def act_as(request: HttpRequest) -> HttpResponse:
    memberships = membership_list_for(user=request.user)
    if request.method == "POST":
        chosen = next((m for m in memberships if str(m.pk) == request.POST.get("membership")), None)
        if chosen is None:
            messages.error(request, "Choose one of your organisations and roles")
        else:
            acting_membership_set(request, chosen)
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = "portal:person_search"
            return redirect(target)
    return render(
        request, "portal/act_as.html", {"memberships": memberships, "next": request.GET.get("next", "")}
    )


@require_GET
@acting
def person_search_view(request: HttpRequest) -> HttpResponse:
    form = PersonSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid():
        query = {k: str(v) for k, v in form.cleaned_data.items() if v}
        results = person_search(actor=request.actor, **form.cleaned_data)
        access_event_record(
            actor=request.actor,
            action=AccessEvent.Action.SEARCH,
            detail={"query": query, "results": [p.pk for p in results]},
        )
    return render(request, "portal/person_search.html", {"form": form, "results": results})


person_search_view.reads_person_data = True


@person_page("record")
def person_detail(request: HttpRequest, person, basis) -> Shown:
    entries = list(
        entry_list_visible_to(actor=request.actor, person=person)
        .select_related("source_organisation")
        .newest_first()[:200]
    )
    by_category = {}
    for entry in entries:
        by_category.setdefault(entry.get_category_display(), []).append(entry)
    return Shown(
        template="portal/person_detail.html",
        context={
            "by_category": by_category,
            "restricted": restricted_information_exists(actor=request.actor, person=person),
        },
        categories=sorted({e.category for e in entries}),
        entry_ids=[e.pk for e in entries],
    )


@require_http_methods(["GET", "POST"])
@acting
def emergency_access(request: HttpRequest) -> HttpResponse:
    """Break-glass, or a self-claimed relationship where the organisation allows it."""
    basis = request.GET.get("basis") or request.POST.get("basis") or "break_glass"
    form = EmergencyAccessForm(
        request.POST or None, initial={"nhs_number": request.GET.get("nhs_number", "")}
    )
    if request.method == "POST" and form.is_valid():
        take = self_claim_grant if basis == "self_claim" else break_glass_grant
        try:
            grant = take(
                actor=request.actor,
                **{
                    k: form.cleaned_data[k]
                    for k in ("nhs_number", "date_of_birth", "reason_code", "reason_text")
                },
            )
        except AccessRefused as refusal:
            form.add_error(None, str(refusal))
        except PersonNotFound:
            form.add_error(None, "No record matches that NHS number and date of birth")
        else:
            return redirect("portal:person_detail", person_id=grant.person_id)
    return render(request, "portal/emergency_access.html", {"form": form, "basis": basis})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers. No person data."""
    with connection.cursor() as cursor:
        cursor.execute("select 1")
    return JsonResponse({"status": "ok"})
