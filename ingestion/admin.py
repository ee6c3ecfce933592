"""Django admin for integration engineers: every message as received, the queues (held, failed,
duplicates), merges, and the actions taken on them. Messages are never edited in place: each change goes
through a service in ingestion.services.review, which records who did it and why."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from ingestion.models import (
    DuplicateMessage,
    FailedMessage,
    HeldMessage,
    InboundMessage,
    IngestionAction,
    MergeRecord,
)
from ingestion.services import review
from ingestion.services.merges import merge_undo
from records import nhs_numbers
from records.models import Person

Status = InboundMessage.Status


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), required=True)


class ResolveMatchForm(forms.Form):
    nhs_number = forms.CharField(
        label="NHS number of the person", required=False, help_text="The person to file this message under."
    )
    person_id = forms.IntegerField(label="or person id", required=False)
    create = forms.BooleanField(
        label="Create a new person", required=False, help_text="When the patient is not in the record yet."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def clean(self):
        data = super().clean()
        number = nhs_numbers.normalise(data.get("nhs_number"))
        person = None
        if number:
            person = Person.objects.filter(nhs_number=number).first()
            if person is None:
                raise forms.ValidationError(f"No person has the NHS number {nhs_numbers.formatted(number)}.")
        elif data.get("person_id"):
            person = Person.objects.filter(pk=data["person_id"]).first()
            if person is None:
                raise forms.ValidationError("No person has that id.")
        if (person is None) == (not data.get("create")):
            raise forms.ValidationError("Name one person, or tick 'Create a new person'.")
        data["person"] = person
        return data


class EditForm(forms.Form):
    payload = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 24, "cols": 120, "style": "font-family: monospace"}),
        strip=False,
        help_text="HL7 v2 segments one per line. The message as received is kept on the action.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


class ActionInline(admin.TabularInline):
    model = IngestionAction
    fk_name = "message"
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "user", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Reprocess the selected messages now")
def reprocess_selected(modeladmin, request, queryset):
    done = 0
    for message in queryset.filter(status__in=review.REPROCESSABLE):
        review.message_reprocess(message=message, user=request.user, reason="reprocessed from the list")
        done += 1
    modeladmin.message_user(request, f"{done} message(s) reprocessed.")


@admin.action(description="Requeue the selected failed or held messages for the workers")
def requeue_selected(modeladmin, request, queryset):
    count = review.messages_requeue(queryset=queryset, user=request.user, reason="requeued from the list")
    modeladmin.message_user(request, f"{count} message(s) requeued.")


class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "received_at",
        "source_system",
        "channel",
        "format",
        "message_type",
        "control_id_short",
        "status",
        "attempts",
        "reason",
    ]
    list_filter = ["status", "format", "channel", "source_system", "received_at"]
    search_fields = ["=control_id", "filename", "message_type", "error"]
    list_select_related = ["source_system"]
    date_hierarchy = "received_at"
    actions = [reprocess_selected, requeue_selected]
    inlines = [ActionInline]
    fields = [
        "source_system",
        "channel",
        "format",
        "message_type",
        "control_id",
        "peer",
        "filename",
        "received_at",
        "status",
        "attempts",
        "claimed_at",
        "processed_at",
        "error",
        "error_location",
        "duplicate_link",
        "people",
        "outcome_pretty",
        "payload_text",
        "resolution",
        "resolution_person",
    ]
    readonly_fields = fields
    change_form_template = "admin/ingestion/inboundmessage/change_form.html"

    def get_queryset(self, request):
        # The list never loads payloads: a bundle can be tens of megabytes.
        return super().get_queryset(request).defer("payload")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Control id")
    def control_id_short(self, obj: InboundMessage) -> str:
        return obj.control_id if len(obj.control_id) <= 30 else obj.control_id[:27] + "…"

    @admin.display(description="Reason")
    def reason(self, obj: InboundMessage) -> str:
        return obj.error[:120]

    @admin.display(description="Duplicate of")
    def duplicate_link(self, obj: InboundMessage) -> str:
        if not obj.duplicate_of_id:
            return "-"
        url = reverse("admin:ingestion_inboundmessage_change", args=[obj.duplicate_of_id])
        return format_html('<a href="{}">message {}</a>', url, obj.duplicate_of_id)

    @admin.display(description="People")
    def people(self, obj: InboundMessage) -> str:
        ids = (obj.outcome or {}).get("people", [])
        if not ids:
            return "-"
        return format_html(
            ", ".join(['<a href="{}">{}</a>'] * len(ids)),
            *[part for pk in ids for part in (reverse("admin:records_person_change", args=[pk]), pk)],
        )

    @admin.display(description="Outcome")
    def outcome_pretty(self, obj: InboundMessage) -> str:
        text = json.dumps(obj.outcome, indent=2, default=str)
        if len(text) > 20000:
            text = text[:20000] + "\n…"
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)

    @admin.display(description="Message as received")
    def payload_text(self, obj: InboundMessage) -> str:
        text = InboundMessage.objects.get(pk=obj.pk).text
        if len(text) > 50000:
            text = text[:50000] + f"\n… ({len(text):,} characters in all)"
        return format_html(
            "<pre style='white-space: pre-wrap; max-height: 40em; overflow: auto'>{}</pre>", text
        )

    # ---- actions on one message -----------------------------------------------------------------

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"

        def view(function):
            return self.admin_site.admin_view(never_cache(function))

        return [
            path("<int:pk>/reprocess/", view(self.reprocess_view), name=f"{prefix}_reprocess"),
            path("<int:pk>/discard/", view(self.discard_view), name=f"{prefix}_discard"),
            path("<int:pk>/resolve/", view(self.resolve_view), name=f"{prefix}_resolve"),
            path("<int:pk>/edit/", view(self.edit_view), name=f"{prefix}_edit"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        message = InboundMessage.objects.defer("payload").filter(pk=object_id).first()
        if message is not None:
            extra_context["ingestion_actions"] = self._available(message)
        return super().change_view(request, object_id, form_url, extra_context)

    def _available(self, message: InboundMessage) -> list[tuple[str, str]]:
        prefix = "admin:ingestion_inboundmessage"
        actions = []
        if message.status == Status.HELD:
            actions.append(("Resolve the match", reverse(f"{prefix}_resolve", args=[message.pk])))
        if message.status in (Status.FAILED, Status.HELD):
            actions.append(("Edit and reprocess", reverse(f"{prefix}_edit", args=[message.pk])))
        if message.status in review.REPROCESSABLE:
            actions.append(("Reprocess", reverse(f"{prefix}_reprocess", args=[message.pk])))
        if message.status not in (Status.PROCESSING, Status.DISCARDED):
            actions.append(("Discard", reverse(f"{prefix}_discard", args=[message.pk])))
        return actions

    def _message(self, request: HttpRequest, pk: int) -> InboundMessage:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(InboundMessage, pk=pk)

    def _done(self, request: HttpRequest, message: InboundMessage, text: str) -> HttpResponse:
        message.refresh_from_db()
        level = messages.SUCCESS if message.status in (Status.APPLIED, Status.DISCARDED) else messages.WARNING
        suffix = f": {message.error}" if message.error and message.status != Status.DISCARDED else ""
        self.message_user(request, f"{text}; now {message.get_status_display().lower()}{suffix}", level)
        return HttpResponseRedirect(reverse("admin:ingestion_inboundmessage_change", args=[message.pk]))

    def _form_page(self, request, message, form, title, explanation, button):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "message": message,
            "form": form,
            "explanation": explanation,
            "button": button,
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[message.pk]
            ),
        }
        return TemplateResponse(request, "admin/ingestion/inboundmessage/action.html", context)

    def reprocess_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._message(request, pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                review.message_reprocess(
                    message=message, user=request.user, reason=form.cleaned_data["reason"]
                )
            except review.ReviewError as exc:
                form.add_error(None, str(exc))
            else:
                return self._done(request, message, "Reprocessed")
        return self._form_page(
            request,
            message,
            form,
            "Reprocess",
            "Process the message again from its stored bytes, e.g. after the source's set-up was corrected. "
            "What is already in the record is not duplicated.",
            "Reprocess",
        )

    def discard_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._message(request, pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                review.message_discard(message=message, user=request.user, reason=form.cleaned_data["reason"])
            except review.ReviewError as exc:
                form.add_error(None, str(exc))
            else:
                return self._done(request, message, "Discarded")
        return self._form_page(
            request,
            message,
            form,
            "Discard",
            "Set the message aside for good. Its bytes are kept; nothing of it goes into the record.",
            "Discard",
        )

    def resolve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._message(request, pk)
        form = ResolveMatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                review.message_resolve_match(
                    message=message,
                    user=request.user,
                    person=data["person"],
                    create=bool(data.get("create")) and data["person"] is None,
                    reason=data["reason"],
                )
            except review.ReviewError as exc:
                form.add_error(None, str(exc))
            else:
                return self._done(request, message, "Match resolved and reprocessed")
        return self._form_page(
            request,
            message,
            form,
            "Resolve the match",
            f"Held because: {message.error}. Name the person this message is about (check the NHS number, "
            "name and date of birth against the message below), or create a new person; it is then "
            "processed again.",
            "File and reprocess",
        )

    def edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        message = self._message(request, pk)
        initial = {"payload": message.text}
        form = EditForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            text = form.cleaned_data["payload"]
            if message.format == InboundMessage.Format.HL7V2:
                # HL7 v2 segments end with CR; the text area gives lines.
                text = "\r".join(text.replace("\r\n", "\n").split("\n"))
            try:
                review.message_edit_reprocess(
                    message=message,
                    payload=text.encode("utf-8"),
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except review.ReviewError as exc:
                form.add_error(None, str(exc))
            else:
                return self._done(request, message, "Edited and reprocessed")
        return self._form_page(
            request,
            message,
            form,
            "Edit and reprocess",
            f"Correct the message and process it again. Reason it {message.status}: {message.error}",
            "Save and reprocess",
        )


class _QueueAdmin(InboundMessageAdmin):
    status: str = ""

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).filter(status=self.status)

    def get_urls(self):
        # The actions live on the full message list's URLs; queues link there.
        return admin.ModelAdmin.get_urls(self)

    def _available(self, message):
        return InboundMessageAdmin(InboundMessage, self.admin_site)._available(message)


@admin.register(HeldMessage)
class HeldMessageAdmin(_QueueAdmin):
    status = Status.HELD
    list_filter = ["source_system", "format", "received_at"]


@admin.register(FailedMessage)
class FailedMessageAdmin(_QueueAdmin):
    status = Status.FAILED
    list_filter = ["source_system", "format", "error_location", "received_at"]


@admin.register(DuplicateMessage)
class DuplicateMessageAdmin(_QueueAdmin):
    status = Status.DUPLICATE
    list_filter = ["source_system", "received_at"]
    actions = []


admin.site.register(InboundMessage, InboundMessageAdmin)


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "source_system",
        "retired_person",
        "surviving_person",
        "status",
        "moved_count",
    ]
    list_filter = ["status", "source_system"]
    search_fields = ["=retired_person__nhs_number", "=surviving_person__nhs_number"]
    list_select_related = ["source_system", "retired_person", "surviving_person"]
    readonly_fields = [
        "message",
        "source_system",
        "surviving_person",
        "retired_person",
        "status",
        "moved",
        "created_at",
        "undone_at",
        "undone_by",
        "undo_reason",
    ]
    fields = readonly_fields
    change_form_template = "admin/ingestion/mergerecord/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Moved")
    def moved_count(self, obj: MergeRecord) -> str:
        moved = obj.moved or {}
        parts = [f"{len(moved.get('entries', []))} entries", f"{len(moved.get('local_identifiers', []))} ids"]
        if moved.get("nhs_number"):
            parts.append("NHS number")
        return ", ".join(parts)

    def get_urls(self):
        return [
            path(
                "<int:pk>/undo/",
                self.admin_site.admin_view(never_cache(self.undo_view)),
                name="ingestion_mergerecord_undo",
            ),
            *super().get_urls(),
        ]

    def undo_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        merge = get_object_or_404(MergeRecord, pk=pk)
        change_url = reverse("admin:ingestion_mergerecord_change", args=[pk])
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and merge.status == MergeRecord.Status.APPLIED:
            merge_undo(merge=merge, user=request.user, reason=form.cleaned_data["reason"])
            self.message_user(request, "The merge was undone: what it moved is back with the retired person.")
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Undo the merge",
            "message": None,
            "form": form,
            "explanation": (
                f"Move back the {len(merge.moved.get('entries', []))} entries, the local identifiers, "
                "addresses and NHS number this merge moved. What arrived for the survivor since stays with "
                "the survivor."
            ),
            "button": "Undo the merge",
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/ingestion/inboundmessage/action.html", context)


@admin.register(IngestionAction)
class IngestionActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "user", "message", "merge", "reason"]
    list_filter = ["action"]
    readonly_fields = ["created_at", "action", "user", "message", "merge", "reason", "detail"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
