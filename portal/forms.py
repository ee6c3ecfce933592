from django import forms
from django.utils.html import format_html_join

from records import nhs_numbers
from records.models import AccessGrant, EntryCategory


class PersonSearchForm(forms.Form):
    nhs_number = forms.CharField(
        label="NHS number", required=False, max_length=14, help_text="For example, 943 476 5919"
    )
    name = forms.CharField(
        label="Name", required=False, max_length=100, help_text="Family name, or given and family name"
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        help_text="For example, 15/03/1984",
        input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"],
        error_messages={"invalid": "Enter the date of birth as day, month and year, for example 15/03/1984"},
    )
    postcode = forms.CharField(label="Postcode", required=False, max_length=10)

    def clean_nhs_number(self) -> str:
        value = self.cleaned_data["nhs_number"]
        if value and not nhs_numbers.is_valid(value):
            raise forms.ValidationError("Enter a valid 10-digit NHS number (the check digit does not match)")
        return nhs_numbers.normalise(value)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("nhs_number"):
            if not data.get("name"):
                raise forms.ValidationError("Enter an NHS number, or a name with a date of birth or postcode")
            if not data.get("date_of_birth") and not data.get("postcode"):
                raise forms.ValidationError("Enter a date of birth or a postcode with the name")
        return data


class EmergencyAccessForm(forms.Form):
    nhs_number = forms.CharField(
        label="NHS number",
        max_length=14,
        error_messages={"required": "Enter the person's NHS number"},
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"],
        help_text="For example, 15/03/1984",
        error_messages={
            "required": "Enter the person's date of birth",
            "invalid": "Enter the date of birth as day, month and year, for example 15/03/1984",
        },
    )
    reason_code = forms.ChoiceField(
        label="Reason",
        choices=AccessGrant.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the reason you need this record"},
    )
    reason_text = forms.CharField(
        label="Explain why you need this record now",
        help_text="For example: brought in unconscious, no relatives present. The privacy officer reads it.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        error_messages={"required": "Explain why you need this record now"},
    )
    confirm = forms.BooleanField(
        label="I understand this access is recorded, reported to the privacy officer and reviewed",
        required=True,
        error_messages={"required": "Confirm that you understand your access is recorded and reviewed"},
    )

    def clean_nhs_number(self) -> str:
        value = self.cleaned_data["nhs_number"]
        if not nhs_numbers.is_valid(value):
            raise forms.ValidationError("Enter a valid 10-digit NHS number")
        return nhs_numbers.normalise(value)

    def clean(self):
        data = super().clean()
        if (
            data.get("reason_code") == AccessGrant.Reason.OTHER
            and not (data.get("reason_text") or "").strip()
        ):
            self.add_error("reason_text", "Explain the reason when you choose 'Other'")
        return data


DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"]
DATE_HELP = "Enter the date as day, month and year, for example 01/01/2024"


class TimelineFilterForm(forms.Form):
    """Filters for the timeline. Invalid values are dropped, with a message, rather than failing the page."""

    category = forms.MultipleChoiceField(
        label="Category", required=False, choices=EntryCategory.choices, widget=forms.CheckboxSelectMultiple
    )
    organisation = forms.TypedChoiceField(label="Source", required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(
        label="From", required=False, input_formats=DATE_FORMATS, error_messages={"invalid": DATE_HELP}
    )
    date_to = forms.DateField(
        label="To", required=False, input_formats=DATE_FORMATS, error_messages={"invalid": DATE_HELP}
    )

    def __init__(self, *args, categories=(), organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        allowed = set(categories)
        self.fields["category"].choices = [(v, label) for v, label in EntryCategory.choices if v in allowed]
        self.fields["organisation"].choices = [("", "All sources")] + [(o.pk, o.name) for o in organisations]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The 'to' date must be the same as or after the 'from' date")
        return data

    def organisation_options(self) -> str:
        """The source filter's options as HTML, built here: a long record can name many organisations, and
        the template language took milliseconds over them."""
        chosen = str(self["organisation"].value() or "")
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if str(value) == chosen else "", label)
                for value, label in self.fields["organisation"].choices
            ),
        )

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "categories": data.get("category") or None,
            "organisation_id": data.get("organisation"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class CorrectionRequestForm(forms.Form):
    what_is_wrong = forms.CharField(
        label="What is wrong with this information?",
        help_text=(
            "Say what is incorrect and, if you know, what it should say. It goes to the data controller of "
            "the organisation that recorded it, who corrects it in their own system."
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
    )

    def clean_what_is_wrong(self) -> str:
        value = self.cleaned_data["what_is_wrong"].strip()
        if len(value) < 10:
            raise forms.ValidationError("Describe what is wrong in a few words (at least 10 characters)")
        return value
