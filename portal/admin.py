from django import forms
from django.contrib import admin

from portal.models import ContextLaunch, LaunchPartner


class LaunchPartnerForm(forms.ModelForm):
    """The shared secret is write-only: never shown again, and left as it is when the field is blank."""

    shared_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="At least 32 characters, for HS algorithms only. Leave blank to keep the current one.",
    )

    class Meta:
        model = LaunchPartner
        fields = ["organisation", "code", "name", "algorithm", "public_key", "shared_secret", "active"]
        widgets = {"public_key": forms.Textarea(attrs={"rows": 8, "cols": 70})}

    def clean_shared_secret(self) -> str:
        value = self.cleaned_data.get("shared_secret") or ""
        if not value and self.instance.pk:
            return self.instance.shared_secret
        return value


@admin.register(LaunchPartner)
class LaunchPartnerAdmin(admin.ModelAdmin):
    form = LaunchPartnerForm
    list_display = ["name", "code", "organisation", "algorithm", "active", "updated_at"]
    list_filter = ["active", "algorithm"]
    search_fields = ["name", "code", "organisation__name", "organisation__ods_code"]
    autocomplete_fields = ["organisation"]


@admin.register(ContextLaunch)
class ContextLaunchAdmin(admin.ModelAdmin):
    """What partners launched, read-only: the access trail holds who saw what."""

    list_display = ["received_at", "partner", "user", "outcome", "refusal"]
    list_filter = ["outcome", "partner"]
    search_fields = ["jti", "user__email", "nhs_number"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
