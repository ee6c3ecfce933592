from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.models import AccessEvent
from audit.services import access_event_record
from portal import presenters, record
from portal.context import Shown, acting, acting_membership_set, person_page
from portal.forms import CorrectionRequestForm, EmergencyAccessForm, PersonSearchForm, TimelineFilterForm
from records.access import (
    AccessRefused,
    PersonNotFound,
    break_glass_grant,
    person_search,
    self_claim_grant,
)
from records.corrections import (
    correction_has_newer_data,
    correction_request_create,
    correction_request_list_for_reporter,
)
from records.models import CorrectionRequest
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
        record.current_postcodes_attach(results)
        access_event_record(
            actor=request.actor,
            action=AccessEvent.Action.SEARCH,
            detail={"query": query, "results": [p.pk for p in results]},
        )
    return render(
        request,
        "portal/person_search.html",
        {"form": form, "results": results, "actor": request.actor},
    )


person_search_view.reads_person_data = True


def _allowed(request) -> set[str]:
    return set(request.actor.role.categories)


@require_GET
@vary_on_headers("HX-Request")
@person_page("summary")
def person_detail(request: HttpRequest, person, basis) -> Shown:
    """The summary: what a clinician needs first."""
    summary = record.summary_get(actor=request.actor, person=person)
    return Shown(
        template="portal/person_summary.html",
        context={"summary": summary, "allowed": _allowed(request)},
        categories=sorted({e.category for e in summary.entries}),
        entry_ids=[e.pk for e in summary.entries],
    )


def _next_url(query, cursor) -> str:
    if cursor is None:
        return ""
    query = query.copy()
    query["after"] = cursor.encode()
    return f"?{query.urlencode()}"


@require_GET
@vary_on_headers("HX-Request")
@person_page("timeline")
def person_timeline(request: HttpRequest, person, basis) -> Shown:
    """Every source's entries, newest first; further pages load as the user scrolls (or follows the link)."""
    actor = request.actor
    organisations = record.timeline_organisations(actor=actor, person=person)
    form = TimelineFilterForm(
        request.GET or None, categories=actor.role.categories, organisations=organisations
    )
    filters = form.filters() if form.is_bound else {}
    cursor = record.Cursor.decode(request.GET.get("after", "")) if request.GET.get("after") else None
    page = record.timeline_page(actor=actor, person=person, after=cursor, **filters)
    query = request.GET.copy()
    query.pop("after", None)
    fragment = bool(request.htmx) and cursor is not None
    return Shown(
        template="portal/person_timeline.html" + ("#timeline-rows" if fragment else ""),
        context={
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": any(v for v in filters.values()),
            "next_url": _next_url(query, page.next_cursor),
        },
        categories=sorted({e.category for e in page.entries}),
        entry_ids=[e.pk for e in page.entries],
        banner=not fragment,
        detail={"filters": {k: str(v) for k, v in filters.items() if v}, "after": bool(cursor)},
    )


@require_GET
@vary_on_headers("HX-Request")
@person_page("results")
def person_results(request: HttpRequest, person, basis) -> Shown:
    cursor = record.Cursor.decode(request.GET.get("after", "")) if request.GET.get("after") else None
    results = record.results_get(actor=request.actor, person=person, after=cursor)
    fragment = bool(request.htmx) and cursor is not None
    return Shown(
        template="portal/person_results.html" + ("#report-list" if fragment else ""),
        context={"results": results},
        categories=sorted({e.category for e in results.entries}),
        entry_ids=[e.pk for e in results.entries],
        banner=not fragment,
    )


@require_GET
@person_page("result_trend")
def result_trend(request: HttpRequest, person, basis, code: str) -> Shown:
    trend = record.trend_get(actor=request.actor, person=person, code=code)
    if trend is None:
        raise Http404("No such test")
    return Shown(
        template="portal/result_trend.html",
        context={"trend": trend, "chart": trend.chart_data()},
        categories=["lab_result"],
        entry_ids=[e.pk for e in trend.entries],
    )


@require_GET
@person_page("results_cumulative")
def results_cumulative(request: HttpRequest, person, basis, panel: str) -> Shown:
    table = record.cumulative_get(actor=request.actor, person=person, panel=panel)
    if table is None:
        raise Http404("No such panel")
    return Shown(
        template="portal/results_cumulative.html",
        context={"table": table},
        categories=["lab_report", "lab_result"],
        entry_ids=[e.pk for e in table.entries],
    )


@require_GET
@person_page("documents")
def person_documents(request: HttpRequest, person, basis) -> Shown:
    documents = record.documents_list(actor=request.actor, person=person)
    return Shown(
        template="portal/person_documents.html",
        context={"documents": documents},
        categories=["document"] if documents else [],
        entry_ids=[e.pk for e in documents],
    )


@require_GET
@person_page("social_care")
def person_social_care(request: HttpRequest, person, basis) -> Shown:
    care = record.social_care_get(actor=request.actor, person=person)
    plans = [(plan, record.care_plan_details(plan)) for plan in care.plans]
    return Shown(
        template="portal/person_social_care.html",
        context={"care": care, "plans": plans, "today": timezone.localdate()},
        categories=sorted({e.category for e in care.entries}),
        entry_ids=[e.pk for e in care.entries],
    )


def _entry_or_404(request, person, entry_id: int):
    entry = record.entry_get(actor=request.actor, person=person, entry_id=entry_id)
    if entry is None:
        raise Http404("No such entry")
    return entry


@require_GET
@person_page("entry")
def entry_detail(request: HttpRequest, person, basis, entry_id: int) -> Shown:
    """One entry in full: a letter readable in the page, a report with its results."""
    entry = _entry_or_404(request, person, entry_id)
    results = record.report_results(actor=request.actor, person=person, report=entry)
    reported = correction_request_list_for_reporter(user=request.user).filter(entry=entry)[:5]
    return Shown(
        template="portal/entry_detail.html",
        context={
            "entry": entry,
            "rows": presenters.details(entry.resource),
            "attachments": record.attachments_of(entry),
            "results": results,
            "value": record.observation_value(entry.resource) if entry.category == "lab_result" else None,
            "reported": list(reported),
        },
        categories=sorted({entry.category, *(r.category for r, _ in results)}),
        entry_ids=[entry.pk, *(r.pk for r, _ in results)],
    )


@require_GET
@person_page("attachment", action=AccessEvent.Action.VIEW_DOCUMENT)
def attachment_download(request: HttpRequest, person, basis, entry_id: int, index: int) -> Shown:
    """An attachment as a file; the download is written to the trail before it is sent."""
    entry = _entry_or_404(request, person, entry_id)
    found = record.attachment_bytes(entry, index)
    if found is None:
        raise Http404("No such attachment")
    content, content_type, filename = found
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return Shown(
        response=response,
        categories=[entry.category],
        entry_ids=[entry.pk],
        banner=False,
        detail={"attachment": index, "download": True},
    )


@require_http_methods(["GET", "POST"])
@person_page("report_incorrect")
def correction_create(request: HttpRequest, person, basis, entry_id: int) -> Shown | HttpResponse:
    """Report incorrect information: a request to the source's data controller. Nothing is edited here."""
    entry = _entry_or_404(request, person, entry_id)
    form = CorrectionRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        correction = correction_request_create(
            actor=request.actor, entry=entry, what_is_wrong=form.cleaned_data["what_is_wrong"]
        )
        messages.success(
            request,
            f"Your report {correction.reference} has gone to the data controller of "
            f"{entry.source_organisation.name}.",
        )
        return redirect("portal:correction_detail", person_id=person.pk, reference=correction.reference)
    return Shown(
        template="portal/correction_form.html",
        context={"entry": entry, "form": form, "rows": presenters.details(entry.resource)},
        categories=[entry.category],
        entry_ids=[entry.pk],
    )


@require_GET
@person_page("correction_status")
def correction_detail(request: HttpRequest, person, basis, reference: str) -> Shown:
    """The reporter follows their request; once the source sends newer data, it is shown beside what was
    reported (only if the reporter may still see that entry)."""
    correction = get_object_or_404(
        CorrectionRequest.objects.select_related("organisation"),
        reference=reference,
        person=person,
        reporter=request.user,
    )
    current = None
    if correction.entry_id:
        current = record.entry_get(actor=request.actor, person=person, entry_id=correction.entry_id)
    newer = correction_has_newer_data(correction, current)
    return Shown(
        template="portal/correction_detail.html",
        context={
            "correction": correction,
            "current": current,
            "newer": newer,
            "reported_rows": presenters.details(correction.reported_resource),
            "current_rows": presenters.details(current.resource) if newer else [],
        },
        categories=[correction.reported_category],
        entry_ids=[current.pk] if current else [],
    )


@require_GET
@acting
def correction_list(request: HttpRequest) -> HttpResponse:
    """The user's own correction requests: reference, source, status and dates; no person data (each
    links to its page, which goes through the access rules)."""
    corrections = correction_request_list_for_reporter(user=request.user)[:200]
    return render(
        request, "portal/correction_list.html", {"corrections": corrections, "actor": request.actor}
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
    return render(
        request,
        "portal/emergency_access.html",
        {"form": form, "basis": basis, "actor": request.actor},
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers. No person data."""
    with connection.cursor() as cursor:
        cursor.execute("select 1")
    return JsonResponse({"status": "ok"})
