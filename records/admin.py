from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.html import format_html

from records.models import (
    AccessGrant,
    CorrectionRequest,
    Entry,
    EntryCategory,
    LocalIdentifier,
    Membership,
    Organisation,
    Person,
    PersonAddress,
    PersonUserObjectPermission,
    Role,
    SensitiveCode,
    User,
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "ods_code",
        "kind",
        "sharing_agreement_from",
        "sharing_agreement_to",
        "sharing_now",
        "users_and_licences",
    ]
    list_filter = ["kind"]
    search_fields = ["name", "ods_code"]

    @admin.display(description="Active users / licences")
    def users_and_licences(self, obj: Organisation) -> str:
        return f"{obj.active_user_count()} / {obj.licences if obj.licences is not None else 'no limit'}"

    @admin.display(boolean=True, description="Sharing now")
    def sharing_now(self, obj: Organisation) -> bool:
        return obj.is_sharing_on(timezone.localdate())


class PersonAddressInline(admin.TabularInline):
    model = PersonAddress
    extra = 0
    fields = ["use", "lines", "town", "postcode", "period_start", "period_end", "source_system"]
    readonly_fields = fields
    can_delete = False


class LocalIdentifierInline(admin.TabularInline):
    model = LocalIdentifier
    extra = 0
    fields = ["system", "value", "type_code", "source_system"]
    readonly_fields = fields
    can_delete = False


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """For integration engineers checking what a feed produced; the portal is where clinicians read."""

    list_display = ["display_name", "nhs_number_display", "date_of_birth", "gender", "registered_practice"]
    list_select_related = ["registered_practice"]
    search_fields = ["=nhs_number", "family_name", "local_identifiers__value"]
    list_filter = ["gender", "is_restricted"]
    readonly_fields = ["field_provenance", "created_at", "updated_at"]
    inlines = [PersonAddressInline, LocalIdentifierInline]
    show_full_result_count = False
    raw_id_fields = ["registered_practice"]


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = [
        "summary",
        "category",
        "person",
        "occurred_at",
        "status",
        "source_system",
        "source_updated_at",
    ]
    list_filter = ["category", "sensitivity", "source_organisation__kind"]
    list_select_related = ["person", "source_system__organisation"]
    search_fields = ["=person__nhs_number", "=business_key", "code"]
    raw_id_fields = ["person", "parent"]
    readonly_fields = ["resource_pretty", "provenance", "version", "created_at", "updated_at"]
    show_full_result_count = False
    date_hierarchy = None

    @admin.display(description="FHIR resource")
    def resource_pretty(self, obj: Entry) -> str:
        import json

        return format_html("<pre>{}</pre>", json.dumps(obj.resource, indent=2))


class RoleForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        choices=EntryCategory.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Role
        fields = ["code", "name", "job_role_code", "categories", "sees_demographics", "is_clinical"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["name", "code", "job_role_code", "is_clinical"]
    search_fields = ["name", "code", "job_role_code"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["organisation"]


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name", "sds_user_id"]
    ordering = ["email"]
    inlines = [MembershipInline]
    fieldsets = (*UserAdmin.fieldsets, ("NHS identity", {"fields": ["sds_user_id"]}))


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    """Break-glass and self-claimed access: every one waits for the privacy officer's review."""

    list_display = ["created_at", "basis", "user", "membership", "reason_code", "expires_at", "review"]
    list_filter = ["review", "basis", "reason_code"]
    search_fields = ["=person__nhs_number", "user__email"]
    readonly_fields = [
        "user",
        "membership",
        "person",
        "basis",
        "reason_code",
        "reason_text",
        "created_at",
        "expires_at",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields, "review", "review_note"]
    list_select_related = ["user", "membership__organisation", "membership__role"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if "review" in form.changed_data and obj.review != AccessGrant.Review.PENDING:
            obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(PersonUserObjectPermission)
class GrantedRelationshipAdmin(admin.ModelAdmin):
    """Care relationships granted on one person, for cases the data does not show (an MDT, a new team)."""

    list_display = ["user", "content_object", "expires_at", "granted_by", "reason"]
    raw_id_fields = ["user", "content_object"]
    fields = ["user", "content_object", "expires_at", "reason"]
    search_fields = ["user__email", "=content_object__nhs_number"]

    def save_model(self, request, obj, form, change):
        from records.access import care_relationship_grant

        grant = care_relationship_grant(
            person=obj.content_object,
            user=obj.user,
            granted_by=request.user,
            expires_at=obj.expires_at,
            reason=obj.reason,
        )
        obj.pk = grant.pk


@admin.register(SensitiveCode)
class SensitiveCodeAdmin(admin.ModelAdmin):
    list_display = ["display", "code", "code_system", "sensitivity"]
    list_filter = ["sensitivity"]
    search_fields = ["code", "display"]


class CorrectionRequestForm(forms.ModelForm):
    """The queue's one decision per visit: pass it to the source, record the source's correction, or
    decline with a reason the reporter will read."""

    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "No change"),
            ("sent", "Sent to the source organisation"),
            ("corrected", "Corrected at source"),
            ("declined", "Declined (give the reason)"),
        ],
    )

    class Meta:
        model = CorrectionRequest
        fields = ["decline_reason"]

    def clean(self):
        data = super().clean()
        if data.get("outcome") == "declined" and not (data.get("decline_reason") or "").strip():
            self.add_error("decline_reason", "Give the reason for declining: the reporter is shown it.")
        return data


class CorrectionRequestAddForm(forms.ModelForm):
    """A citizen's request, raised by the privacy officer: the entry, what is wrong, and who asked."""

    class Meta:
        model = CorrectionRequest
        fields = ["entry", "what_is_wrong", "on_behalf_of"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry"].required = True
        self.fields["on_behalf_of"].required = True


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(admin.ModelAdmin):
    """Correction requests from the portal, worked as a queue: received, sent to source, then corrected at
    source or declined. The record itself is never edited here."""

    form = CorrectionRequestForm
    list_display = [
        "reference",
        "created_at",
        "status",
        "organisation",
        "reported_category",
        "reporter",
        "notified_at",
        "newer_data",
    ]
    list_filter = ["status", "organisation__kind", "reported_category"]
    search_fields = ["=reference", "=person__nhs_number", "organisation__name", "reporter__email"]
    list_select_related = ["organisation", "reporter", "entry"]
    actions = ["mark_sent", "mark_corrected"]
    readonly_fields = [
        "reference",
        "status",
        "organisation",
        "reporter",
        "reporter_organisation",
        "person",
        "entry",
        "created_at",
        "notified_at",
        "sent_at",
        "resolved_at",
        "handled_by",
        "what_is_wrong",
        "on_behalf_of",
        "reported_summary",
        "reported_as",
        "current_data",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "status", "organisation", "what_is_wrong", "on_behalf_of"]}),
        ("Decision", {"fields": ["outcome", "decline_reason"]}),
        ("The entry", {"fields": ["reported_summary", "reported_as", "current_data", "entry", "person"]}),
        (
            "History",
            {
                "fields": [
                    "reporter",
                    "reporter_organisation",
                    "created_at",
                    "notified_at",
                    "sent_at",
                    "resolved_at",
                    "handled_by",
                ]
            },
        ),
    ]

    raw_id_fields = ["entry"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CorrectionRequestAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["entry", "what_is_wrong", "on_behalf_of"]})]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    @admin.display(boolean=True, description="Newer data from source")
    def newer_data(self, obj: CorrectionRequest) -> bool:
        from records.corrections import correction_has_newer_data

        return correction_has_newer_data(obj, obj.entry)

    @admin.display(description="As reported")
    def reported_as(self, obj: CorrectionRequest) -> str:
        import json

        return format_html("<pre>{}</pre>", json.dumps(obj.reported_resource, indent=2))

    @admin.display(description="Now, from the source")
    def current_data(self, obj: CorrectionRequest) -> str:
        import json

        from records.corrections import correction_has_newer_data

        if obj.entry is None:
            return "The entry has since been removed."
        if not correction_has_newer_data(obj, obj.entry):
            return "No newer version from the source yet."
        return format_html(
            "<p>Updated at source {}</p><pre>{}</pre>",
            obj.entry.source_updated_at.strftime("%d %b %Y %H:%M"),
            json.dumps(obj.entry.resource, indent=2),
        )

    def save_model(self, request, obj, form, change):
        from records import corrections

        if not change:
            created = corrections.correction_request_create_for_citizen(
                entry=form.cleaned_data["entry"],
                by=request.user,
                what_is_wrong=form.cleaned_data["what_is_wrong"],
                on_behalf_of=form.cleaned_data["on_behalf_of"],
            )
            obj.pk, obj.reference = created.pk, created.reference
            return
        outcome = form.cleaned_data.get("outcome")
        try:
            if outcome == "sent":
                corrections.correction_request_mark_sent(correction=obj, by=request.user)
            elif outcome == "corrected":
                corrections.correction_request_mark_corrected(correction=obj, by=request.user)
            elif outcome == "declined":
                reason = form.cleaned_data["decline_reason"]
                obj.decline_reason = CorrectionRequest.objects.get(pk=obj.pk).decline_reason
                corrections.correction_request_decline(correction=obj, by=request.user, reason=reason)
        except corrections.CorrectionRefused as refusal:
            self.message_user(request, str(refusal), level="error")

    def _bulk(self, request, queryset, service, done: str) -> None:
        from records import corrections

        changed = 0
        for correction in queryset:
            try:
                service(correction=correction, by=request.user)
                changed += 1
            except corrections.CorrectionRefused as refusal:
                self.message_user(request, str(refusal), level="warning")
        if changed:
            self.message_user(request, f"{changed} request(s) marked {done}.")

    @admin.action(description="Mark as sent to the source organisation")
    def mark_sent(self, request, queryset):
        from records import corrections

        self._bulk(request, queryset, corrections.correction_request_mark_sent, "sent to source")

    @admin.action(description="Mark as corrected at source")
    def mark_corrected(self, request, queryset):
        from records import corrections

        self._bulk(request, queryset, corrections.correction_request_mark_corrected, "corrected at source")
