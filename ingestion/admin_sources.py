"""Source systems in Django admin: credentials (shown once), going live with confirmation, quiet feeds,
and the social care extract upload."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ingestion.models import InboundMessage
from ingestion.services.sources import (
    source_system_feed_state,
    source_system_go_live,
    source_system_token_issue,
    source_system_token_revoke,
)
from ingestion.services.uploads import social_care_extract_upload
from records.models import SourceSystem


class SocialCareUploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=SourceSystem.objects.filter(kind=SourceSystem.Kind.CSV).select_related("organisation"),
        label="Council source system",
        help_text="The council's CSV source: its ids key the people, plans, carers and flags.",
    )
    extract = forms.FileField(label="CSV extract", help_text="Columns as in docs/social-care-csv.md.")


class SourceSystemAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "organisation",
        "kind",
        "mode",
        "last_message_at",
        "messages_today",
        "failures_today",
        "feed",
        "credential",
    ]
    list_filter = ["kind", "mode"]
    search_fields = ["name", "code", "organisation__name", "organisation__ods_code"]
    # Going live needs its own confirmation page: the mode is never changed by editing the form.
    readonly_fields = ["mode", "credential", "token_issued_at", "token_revoked_at", "last_message_at", "feed"]
    list_select_related = ["organisation"]
    change_form_template = "admin/ingestion/sourcesystem/change_form.html"
    change_list_template = "admin/ingestion/sourcesystem/change_list.html"

    def get_queryset(self, request: HttpRequest):
        # Counted on the (source, received_at) index of the ledger, one query for the whole page.
        since = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        today = Q(inbound_messages__received_at__gte=since)
        return (
            super()
            .get_queryset(request)
            .annotate(
                messages_today_count=Count("inbound_messages", filter=today),
                failures_today_count=Count(
                    "inbound_messages",
                    filter=today & Q(inbound_messages__status=InboundMessage.Status.FAILED),
                ),
            )
        )

    @admin.display(description="Messages today", ordering="messages_today_count")
    def messages_today(self, obj: SourceSystem) -> int:
        return getattr(obj, "messages_today_count", 0)

    @admin.display(description="Failures today", ordering="failures_today_count")
    def failures_today(self, obj: SourceSystem) -> int:
        return getattr(obj, "failures_today_count", 0)

    @admin.display(description="Feed")
    def feed(self, obj: SourceSystem) -> str:
        return source_system_feed_state(source=obj).text

    @admin.display(description="Credential")
    def credential(self, obj: SourceSystem) -> str:
        if not obj.token_hash:
            return "none issued"
        if obj.token_revoked_at is not None:
            return f"revoked {timezone.localtime(obj.token_revoked_at):%d %b %Y %H:%M}"
        return f"issued {timezone.localtime(obj.token_issued_at):%d %b %Y %H:%M}"

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        now = timezone.now()
        for source in SourceSystem.objects.filter(mode=SourceSystem.Mode.LIVE).select_related("organisation"):
            state = source_system_feed_state(source=source, now=now)
            if state.quiet:
                messages.warning(request, f"{source.name} ({source.code}) is {state.text}.")
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(never_cache(function))

        return [
            path("<int:pk>/token/", view(self.token_view), name="records_sourcesystem_token"),
            path("<int:pk>/revoke/", view(self.revoke_view), name="records_sourcesystem_revoke"),
            path("<int:pk>/go-live/", view(self.go_live_view), name="records_sourcesystem_go_live"),
            path(
                "upload-social-care/",
                view(self.upload_view),
                name="records_sourcesystem_upload_social_care",
            ),
            *super().get_urls(),
        ]

    def _source_for_change(self, request: HttpRequest, pk: int) -> SourceSystem:
        source = get_object_or_404(SourceSystem.objects.select_related("organisation"), pk=pk)
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        return source

    def _context(self, request: HttpRequest, source: SourceSystem, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": source,
            "source": source,
            "change_url": reverse("admin:records_sourcesystem_change", args=[source.pk]),
        }

    def _confirm(
        self, request: HttpRequest, source: SourceSystem, *, title: str, explanation: str, button: str
    ) -> TemplateResponse:
        context = {**self._context(request, source, title), "explanation": explanation, "button": button}
        return TemplateResponse(request, "admin/ingestion/sourcesystem/confirm.html", context)

    def token_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source_for_change(request, pk)
        if request.method != "POST":
            replaces = (
                " It replaces the current token, which stops working at once." if source.token_hash else ""
            )
            return self._confirm(
                request,
                source,
                title=f"Issue a token for {source.name}",
                explanation="The sender puts the token in the Authorization header as 'Bearer <token>'. "
                f"It is shown once, on the next page; only its hash is kept.{replaces}",
                button="Issue the token",
            )
        token = source_system_token_issue(source=source)
        self.log_change(request, source, "Issued a new token")
        context = {**self._context(request, source, f"Token for {source.name}"), "token": token}
        return TemplateResponse(request, "admin/ingestion/sourcesystem/token.html", context)

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source_for_change(request, pk)
        if request.method != "POST":
            return self._confirm(
                request,
                source,
                title=f"Revoke the token of {source.name}",
                explanation="Requests with this token are refused (401) from now on, until a new token "
                "is issued.",
                button="Revoke the token",
            )
        source_system_token_revoke(source=source)
        self.log_change(request, source, "Revoked the token")
        messages.success(request, f"The token of {source.name} is revoked.")
        return HttpResponseRedirect(reverse("admin:records_sourcesystem_change", args=[source.pk]))

    def go_live_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source_for_change(request, pk)
        if request.method != "POST":
            return self._confirm(
                request,
                source,
                title=f"Switch {source.name} live",
                explanation="Everything this source has sent in test mode, and everything it sends from now "
                "on, becomes visible in the record to the professionals caring for each person. Check what "
                "its test messages became before going live.",
                button="Go live",
            )
        if source_system_go_live(source=source):
            self.log_change(request, source, "Switched live")
            messages.success(request, f"{source.name} is live: its data is now shown in the record.")
        else:
            messages.info(request, f"{source.name} was already live.")
        return HttpResponseRedirect(reverse("admin:records_sourcesystem_change", args=[source.pk]))

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a social care extract: it is applied at once and reported row by row."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = SocialCareUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["extract"]
                report = social_care_extract_upload(
                    source=form.cleaned_data["source"], name=upload.name, data=upload.read()
                )
        else:
            form = SocialCareUploadForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a social care extract",
            "opts": self.model._meta,
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/ingestion/sourcesystem/upload_social_care.html", context)


admin.site.register(SourceSystem, SourceSystemAdmin)
