import json

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from audit.exports import access_events_csv, access_events_fhir_bundle
from audit.models import AccessEvent, PrivacyAlert
from audit.selectors import anomaly_report


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The trail, read-only. Search an NHS number for 'who accessed this person'; filter by user for
    'what did this user access'."""

    list_display = [
        "seq",
        "occurred_at",
        "user_display",
        "role_name",
        "organisation_ods",
        "action",
        "outcome",
        "person_nhs_number",
        "basis",
    ]
    list_filter = [
        "action",
        "outcome",
        "basis",
        "organisation_ods",
        ("occurred_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=person_nhs_number", "user_display", "=organisation_ods"]
    actions = ["export_csv", "export_fhir"]
    show_full_result_count = False
    ordering = ["-seq"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "anomalies/",
                self.admin_site.admin_view(self.anomalies_view),
                name="audit_accessevent_anomalies",
            ),
            *super().get_urls(),
        ]

    def anomalies_view(self, request: HttpRequest) -> TemplateResponse:
        days = int(request.GET.get("days", 30))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Anomaly report: last {days} days",
            "anomalies": anomaly_report(days=days),
            "opts": self.model._meta,
            "days": days,
        }
        return TemplateResponse(request, "admin/audit/anomalies.html", context)

    @admin.action(description="Export selected events as CSV")
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        response = HttpResponse(access_events_csv(queryset.order_by("seq")), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="access-events-{timezone.localdate()}.csv"'
        return response

    @admin.action(description="Export selected events as FHIR AuditEvent (Bundle)")
    def export_fhir(self, request: HttpRequest, queryset) -> HttpResponse:
        bundle = access_events_fhir_bundle(queryset.order_by("seq"))
        response = HttpResponse(json.dumps(bundle, indent=2), content_type="application/fhir+json")
        response["Content-Disposition"] = f'attachment; filename="access-events-{timezone.localdate()}.json"'
        return response


@admin.register(PrivacyAlert)
class PrivacyAlertAdmin(admin.ModelAdmin):
    list_display = ["reference", "kind", "status", "created_at", "user", "emailed_at", "reviewed_by"]
    list_filter = ["status", "kind"]
    search_fields = ["=reference"]
    readonly_fields = [
        "reference",
        "kind",
        "created_at",
        "user",
        "person_id",
        "access_grant",
        "access_event",
        "emailed_at",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields, "status", "review_note"]
    actions = ["close_reviewed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data and obj.status == PrivacyAlert.Status.CLOSED:
            obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Close as reviewed")
    def close_reviewed(self, request: HttpRequest, queryset) -> None:
        count = queryset.filter(status=PrivacyAlert.Status.OPEN).update(
            status=PrivacyAlert.Status.CLOSED, reviewed_by=request.user, reviewed_at=timezone.now()
        )
        messages.success(request, f"{count} alert(s) closed.")
