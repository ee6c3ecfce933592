from django import forms

from records import nhs_numbers
from records.models import AccessGrant


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
    nhs_number = forms.CharField(label="NHS number", max_length=14)
    date_of_birth = forms.DateField(
        label="Date of birth",
        input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"],
        help_text="For example, 15/03/1984",
    )
    reason_code = forms.ChoiceField(
        label="Reason", choices=AccessGrant.Reason.choices, widget=forms.RadioSelect
    )
    reason_text = forms.CharField(
        label="Explain why you need this record now",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )
    confirm = forms.BooleanField(
        label="I understand this access is recorded, reported to the privacy officer and reviewed",
        required=True,
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
