"""The citizens' public pages: no account, no person data shown, the same answer whoever is asking."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import translate_url
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods

from consent.forms import EasyReadOptOutForm, OptOutForm
from consent.models import OptOut
from consent.ratelimit import rate_limit_hit
from consent.services import opt_out_register

SESSION_KEY = "opt_out_reference"


def _languages(request: HttpRequest) -> list[dict]:
    current = get_language()
    return [
        {"code": code, "name": name, "current": code == current, "url": translate_url(request.path, code)}
        for code, name in settings.LANGUAGES
    ]


def _opt_out_page(
    request: HttpRequest, form_class: type[OptOutForm], template: str, channel: str
) -> HttpResponse:
    if request.method == "POST":
        if rate_limit_hit(scope="opt-out", client=request.META.get("REMOTE_ADDR")):
            response = render(
                request, "consent/opt_out_rate_limited.html", {"languages": _languages(request)}
            )
            response.status_code = 429
            response["Retry-After"] = str(settings.DCR_OPT_OUT_RATE_WINDOW_SECONDS)
            return response
        form = form_class(request.POST)
        if form.is_valid():
            opt_out = opt_out_register(details=form.details(), channel=channel, language=get_language())
            request.session[SESSION_KEY] = opt_out.reference
            return redirect("consent:opt_out_received")
    else:
        form = form_class()
    return render(request, template, {"form": form, "languages": _languages(request)})


@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest) -> HttpResponse:
    return _opt_out_page(request, OptOutForm, "consent/opt_out.html", OptOut.Channel.WEB)


@require_http_methods(["GET", "POST"])
def opt_out_easy_read(request: HttpRequest) -> HttpResponse:
    return _opt_out_page(
        request, EasyReadOptOutForm, "consent/opt_out_easy_read.html", OptOut.Channel.EASY_READ
    )


@require_GET
def opt_out_received(request: HttpRequest) -> HttpResponse:
    """The acknowledgement: only the reference, which says nothing about whether a record exists."""
    reference = request.session.get(SESSION_KEY)
    if not reference:
        return redirect("consent:opt_out")
    return render(
        request, "consent/opt_out_received.html", {"reference": reference, "languages": _languages(request)}
    )
