"""Citizens' rights in Django admin: staff enter opt-outs received on paper or by phone, the privacy officer
decides them, produces subject-access packs and records legal proxies."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from consent.models import (
    PROXY_PERMISSION_MAX,
    LegalProxy,
    OptOut,
    ProxyPermission,
    SubjectAccessRequest,
    new_reference,
)
from consent.selectors import opt_out_candidates
from consent.services import (
    OptOutDetails,
    legal_proxy_record,
    opt_out_approve,
    opt_out_letter_sent,
    opt_out_register,
    opt_out_reject,
    opt_out_withdraw,
    proxy_permission_check,
    proxy_permission_give,
    proxy_permission_revoke,
)
from records.models import Person

STAFF_CHANNELS = [
    (c.value, c.label) for c in OptOut.Channel if c not in (OptOut.Channel.WEB, OptOut.Channel.EASY_READ)
]
DETAIL_FIELDS = [
    "on_behalf",
    "given_names",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "address",
    "postcode",
    "email",
    "phone",
    "authority",
    "authority_detail",
    "applicant_name",
    "applicant_address",
    "applicant_email",
    "applicant_phone",
    "declaration",
]


class StaffOptOutForm(forms.ModelForm):
    """An opt-out received by phone, post, leaflet or in person, typed in by staff."""

    channel = forms.ChoiceField(choices=STAFF_CHANNELS)
    language = forms.ChoiceField(
        choices=[("en-gb", "English"), ("pl", "Polish"), ("ro", "Romanian")],
        help_text="The confirmation letter is written in this language.",
    )
    received_at = forms.DateTimeField(initial=timezone.now, help_text="When the request reached us.")
    nhs_number = forms.CharField(label="NHS number", required=False, max_length=14, help_text="If given.")

    class Meta:
        model = OptOut
        fields = ["channel", "language", "received_at", *DETAIL_FIELDS]

    def clean_nhs_number(self) -> str:
        from records import nhs_numbers

        value = nhs_numbers.normalise(self.cleaned_data["nhs_number"])
        if value and not nhs_numbers.is_valid(value):
            raise ValidationError("Not a valid NHS number: check it, or leave it empty.")
        return value

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("given_names", "family_name", "date_of_birth", "address", "postcode", "declaration"):
            self.fields[name].required = True
        self.fields["declaration"].help_text = "The applicant signed or confirmed the declaration."

    def clean(self):
        data = super().clean()
        if data.get("on_behalf") and data["on_behalf"] != OptOut.OnBehalf.SELF:
            if not data.get("applicant_name"):
                self.add_error("applicant_name", "Who is acting for the person?")
            if not data.get("authority"):
                self.add_error("authority", "What authority do they have?")
        return data


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "status",
        "channel",
        "received_at",
        "decided_at",
        "decided_by",
        "letter_to_send",
    ]
    list_filter = ["status", "channel", "language"]
    search_fields = ["=reference", "=nhs_number"]
    actions = ["mark_letters_sent"]
    show_full_result_count = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = StaffOptOutForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return StaffOptOutForm.Meta.fields
        return [
            "next_steps",
            "reference",
            "status",
            "channel",
            "language",
            "received_at",
            "entered_by",
            *DETAIL_FIELDS,
            "decided_by",
            "decided_at",
            "rejection_reason",
            "decision_reason",
            "erased",
            "letter_text",
            "letter_sent_at",
            "withdrawn_by",
            "withdrawn_at",
            "withdrawal_note",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the opt-out itself is what honours the person's choice

    @admin.display(boolean=True, description="Letter to send")
    def letter_to_send(self, obj: OptOut) -> bool:
        return bool(obj.letter_text)

    @admin.display(description="Next steps")
    def next_steps(self, obj: OptOut) -> str:
        links = []
        if obj.status == OptOut.Status.RECEIVED:
            links.append(("Match and decide", reverse("admin:consent_optout_decide", args=[obj.pk])))
        if obj.status == OptOut.Status.APPROVED:
            links.append(("Record a withdrawal", reverse("admin:consent_optout_withdraw", args=[obj.pk])))
        if obj.letter_text:
            links.append(("Download the letter", reverse("admin:consent_optout_letter", args=[obj.pk])))
        if not links:
            return "-"
        return format_html(
            " ".join(['<a class="button" href="{}">{}</a>'] * len(links)),
            *[part for label, url in links for part in (url, label)],
        )

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        details = OptOutDetails(**{name: data.get(name) or "" for name in OptOutDetails.__dataclass_fields__})
        created = opt_out_register(
            details=details,
            channel=data["channel"],
            language=data["language"],
            entered_by=request.user,
            received_at=data["received_at"],
        )
        obj.pk, obj.reference = created.pk, created.reference

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, f"Opt-out {obj.reference} recorded. Give the applicant this reference.")
        return redirect("admin:consent_optout_change", obj.pk)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/decide/", view(self.decide_view), name="consent_optout_decide"),
            path("<int:pk>/withdraw/", view(self.withdraw_view), name="consent_optout_withdraw"),
            path("<int:pk>/letter/", view(self.letter_view), name="consent_optout_letter"),
            *super().get_urls(),
        ]

    def _context(self, request, opt_out, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": opt_out,
            "opt_out": opt_out,
            "title": title,
            **extra,
        }

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        opt_out = get_object_or_404(OptOut, pk=pk)
        candidates = opt_out_candidates(opt_out=opt_out)
        form = DecisionForm(request.POST or None, candidates=candidates)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["decision"] == "approve":
                    person = Person.objects.filter(pk=data["person"]).first() if data["person"] else None
                    opt_out = opt_out_approve(
                        opt_out=opt_out,
                        decided_by=request.user,
                        person=person,
                        nhs_number=data["nhs_number"],
                        reason=data["reason"],
                    )
                    removed = sum(opt_out.erased.values())
                    messages.success(
                        request,
                        f"{opt_out.reference} approved: {removed} row(s) removed from the record; "
                        "later data for this NHS number will be dropped. Send the letter below.",
                    )
                else:
                    opt_out = opt_out_reject(
                        opt_out=opt_out,
                        decided_by=request.user,
                        reason_code=data["rejection_reason"],
                        note=data["reason"],
                    )
                    messages.success(request, f"{opt_out.reference} rejected. Send the letter below.")
                return redirect("admin:consent_optout_change", opt_out.pk)
            except ValidationError as error:
                form.add_error(None, error)
        context = self._context(
            request, opt_out, f"Match and decide {opt_out.reference}", form=form, candidates=candidates
        )
        return TemplateResponse(request, "admin/consent/optout/decide.html", context)

    def withdraw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        opt_out = get_object_or_404(OptOut, pk=pk)
        form = WithdrawalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                opt_out_withdraw(opt_out=opt_out, withdrawn_by=request.user, note=form.cleaned_data["note"])
                messages.success(
                    request,
                    f"{opt_out.reference} withdrawn: new data flows again. Ask the sources to resend earlier "
                    "data (README, Citizens' rights).",
                )
                return redirect("admin:consent_optout_change", opt_out.pk)
            except ValidationError as error:
                form.add_error(None, error)
        context = self._context(request, opt_out, f"Withdraw opt-out {opt_out.reference}", form=form)
        return TemplateResponse(request, "admin/consent/optout/withdraw.html", context)

    def letter_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        opt_out = get_object_or_404(OptOut, pk=pk)
        response = HttpResponse(opt_out.letter_text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{opt_out.reference}-letter.txt"'
        return response

    @admin.action(description="Mark letters as sent (and delete their copies)")
    def mark_letters_sent(self, request: HttpRequest, queryset) -> None:
        count = 0
        for opt_out in queryset.exclude(letter_text=""):
            opt_out_letter_sent(opt_out=opt_out, sent_by=request.user)
            count += 1
        messages.success(request, f"{count} letter(s) marked as sent.")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve: erase the record now"), ("reject", "Reject")], widget=forms.RadioSelect
    )
    person = forms.ChoiceField(
        required=False, widget=forms.RadioSelect, label="The person this request is about"
    )
    nhs_number = forms.CharField(
        required=False,
        max_length=14,
        label="NHS number, if no record matches",
        help_text="A person with no record yet can still opt out of future data: trace and enter it.",
    )
    rejection_reason = forms.ChoiceField(
        required=False,
        choices=[("", "-")] + [(c.value, c.label) for c in OptOut.RejectionReason],
        label="If rejecting, why",
        help_text="The applicant is told this in their language.",
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Note",
        help_text="Kept with the decision. On a rejection it is added to the letter as written.",
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "None of these")] + [
            (str(c.person.pk), str(c.person)) for c in candidates
        ]

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject":
            if not data.get("rejection_reason"):
                self.add_error(
                    "rejection_reason", "Choose the reason for rejecting: the applicant is told it."
                )
            elif (
                data["rejection_reason"] == OptOut.RejectionReason.OTHER
                and not data.get("reason", "").strip()
            ):
                self.add_error("reason", "Explain the reason: the applicant is told it.")
        return data


class WithdrawalForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="How the person asked (phone, letter…) and when."
    )


# Subject access


class SubjectAccessRequestForm(forms.ModelForm):
    nhs_number = forms.CharField(label="NHS number", max_length=14)

    class Meta:
        model = SubjectAccessRequest
        fields = ["nhs_number", "requested_by", "received_on", "identity_checked_on", "status", "notes"]

    def clean_nhs_number(self) -> str:
        from records import nhs_numbers

        value = nhs_numbers.normalise(self.cleaned_data["nhs_number"])
        if not nhs_numbers.is_valid(value):
            raise ValidationError("Not a valid NHS number: check it against the request.")
        return value


@admin.register(SubjectAccessRequest)
class SubjectAccessRequestAdmin(admin.ModelAdmin):
    form = SubjectAccessRequestForm
    list_display = ["reference", "nhs_number", "received_on", "due", "status", "produced_at", "produced_by"]
    list_filter = ["status"]
    search_fields = ["=reference", "=nhs_number"]
    readonly_fields = ["reference", "produced_at", "produced_by", "pack"]

    @admin.display(description="Reply due by")
    def due(self, obj: SubjectAccessRequest):
        return obj.due_on

    @admin.display(description="Subject-access pack")
    def pack(self, obj: SubjectAccessRequest) -> str:
        if obj.pk is None:
            return "Save the request first."
        links = [
            ("Download the pack (PDF, FHIR and who viewed, zipped)", "zip"),
            ("PDF", "pdf"),
            ("FHIR R4 Bundle", "fhir"),
            ("Who viewed the record (CSV)", "viewers"),
        ]
        return format_html(
            " ".join(['<a class="button" href="{}">{}</a>'] * len(links))
            + "<p>Each download is written to the access trail.</p>",
            *[
                part
                for label, kind in links
                for part in (reverse("admin:consent_subjectaccessrequest_pack", args=[obj.pk, kind]), label)
            ],
        )

    def save_model(self, request, obj, form, change):
        if not obj.reference:
            obj.reference = new_reference("SAR")
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "<int:pk>/pack/<str:kind>/",
                self.admin_site.admin_view(self.pack_view),
                name="consent_subjectaccessrequest_pack",
            ),
            *super().get_urls(),
        ]

    def pack_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        from consent.subject_access import subject_access_pack_produce

        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        sar = get_object_or_404(SubjectAccessRequest, pk=pk)
        files = {
            "zip": ("application/zip", "pack.zip"),
            "pdf": ("application/pdf", "record.pdf"),
            "fhir": ("application/fhir+json", "record.fhir.json"),
            "viewers": ("text/csv; charset=utf-8", "who-viewed.csv"),
        }
        if kind not in files:
            return HttpResponse(status=404)
        pack = subject_access_pack_produce(
            request=sar, produced_by=request.user, client_ip=request.META.get("REMOTE_ADDR")
        )
        body = {
            "zip": pack.zip,
            "pdf": lambda: pack.pdf,
            "fhir": lambda: json.dumps(pack.bundle, indent=2),
            "viewers": lambda: pack.access_list_csv,
        }[kind]()
        content_type, name = files[kind]
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{sar.reference}-{name}"'
        return response


# Carers and legal proxies


class ProxyPermissionInline(admin.TabularInline):
    model = ProxyPermission
    extra = 0
    fields = ["professional", "reason", "granted_at", "expires_at", "recorded_by", "revoked_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LegalProxyForm(forms.ModelForm):
    evidence_confirmed = forms.BooleanField(
        label="I have seen this evidence", help_text="You are recorded as the person who verified it."
    )

    class Meta:
        model = LegalProxy
        fields = [
            "person",
            "name",
            "relationship",
            "authority",
            "evidence_seen",
            "evidence_reference",
            "valid_from",
            "valid_until",
            "person_lacks_capacity",
            "capacity_assessment",
            "phone",
            "email",
            "address",
            "revoked_at",
            "notes",
        ]


@admin.register(LegalProxy)
class LegalProxyAdmin(admin.ModelAdmin):
    form = LegalProxyForm
    list_display = ["name", "authority", "person", "valid_from", "valid_until", "verified_by", "in_force"]
    list_filter = ["authority", "person_lacks_capacity"]
    search_fields = ["name", "=person__nhs_number"]
    raw_id_fields = ["person"]
    readonly_fields = ["verified_by", "verified_at"]
    inlines = [ProxyPermissionInline]

    @admin.display(boolean=True, description="In force")
    def in_force(self, obj: LegalProxy) -> bool:
        return obj.is_in_force_on()

    def save_model(self, request, obj, form, change):
        legal_proxy_record(proxy=obj, verified_by=request.user)


class ProxyPermissionForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1,
        max_value=PROXY_PERMISSION_MAX.days,
        initial=30,
        help_text=f"At most {PROXY_PERMISSION_MAX.days} days.",
    )

    class Meta:
        model = ProxyPermission
        fields = ["proxy", "professional", "reason"]

    def clean(self):
        data = super().clean()
        if data.get("proxy"):
            try:
                proxy_permission_check(data["proxy"])
            except ValidationError as error:
                self.add_error("proxy", error)
        return data


@admin.register(ProxyPermission)
class ProxyPermissionAdmin(admin.ModelAdmin):
    """A proxy lets a named professional see the record of someone who lacks capacity."""

    list_display = ["professional", "proxy", "granted_at", "expires_at", "recorded_by", "revoked_at"]
    raw_id_fields = ["proxy", "professional"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ProxyPermissionForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["proxy", "professional", "reason", "days"]
        return ["proxy", "professional", "reason", "granted_at", "expires_at", "recorded_by", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        created = proxy_permission_give(
            proxy=data["proxy"],
            professional=data["professional"],
            reason=data["reason"],
            expires_at=timezone.now() + timedelta(days=data["days"]),
            recorded_by=request.user,
        )
        obj.pk, obj.granted_at, obj.expires_at, obj.grant = (
            created.pk,
            created.granted_at,
            created.expires_at,
            created.grant,
        )

    @admin.action(description="Revoke the selected permissions")
    def revoke(self, request: HttpRequest, queryset) -> None:
        for permission in queryset.filter(revoked_at__isnull=True):
            proxy_permission_revoke(permission=permission, revoked_by=request.user)
        messages.success(request, "Revoked.")
