"""The public opt-out form, in full and easy-read wording. Every label and message is translated."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from consent.models import OptOut
from consent.services import OptOutDetails
from records import nhs_numbers

# A UK postcode's shape (outward code, then a digit and two letters); the officer checks the rest.
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")

ON_BEHALF_CHOICES = [
    (OptOut.OnBehalf.SELF, _("Myself")),
    (OptOut.OnBehalf.CHILD, _("A child I have parental responsibility for")),
    (OptOut.OnBehalf.AUTHORITY, _("Someone I have legal authority to act for")),
]
AUTHORITY_CHOICES = [
    (OptOut.Authority.PARENTAL, _("Parental responsibility")),
    (OptOut.Authority.LPA_HEALTH, _("Lasting power of attorney for health and welfare")),
    (OptOut.Authority.DEPUTY, _("Court-appointed deputy for personal welfare")),
    (OptOut.Authority.OTHER, _("Other (please describe)")),
]


class OptOutForm(forms.Form):
    on_behalf = forms.ChoiceField(
        label=_("Who is this opt-out for?"),
        choices=ON_BEHALF_CHOICES,
        initial=OptOut.OnBehalf.SELF,
        widget=forms.RadioSelect,
    )
    given_names = forms.CharField(label=_("First name"), max_length=200)
    family_name = forms.CharField(label=_("Last name"), max_length=200)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example, 15/03/1984"),
        input_formats=["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"],
        error_messages={"invalid": _("Enter the date of birth as day/month/year, for example 15/03/1984")},
    )
    nhs_number = forms.CharField(
        label=_("NHS number (if you know it)"),
        help_text=_("10 digits, for example 485 777 3456. Leave this empty if you do not know it."),
        required=False,
        max_length=14,
    )
    address = forms.CharField(label=_("Address"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500)
    postcode = forms.CharField(label=_("Postcode"), max_length=10)
    email = forms.EmailField(label=_("Email address (optional)"), required=False)
    phone = forms.CharField(label=_("Phone number (optional)"), required=False, max_length=40)
    authority = forms.ChoiceField(
        label=_("What authority do you have?"),
        choices=AUTHORITY_CHOICES,
        required=False,
        widget=forms.RadioSelect,
    )
    authority_detail = forms.CharField(
        label=_("Tell us about your authority"),
        help_text=_("For example, the reference of the lasting power of attorney or the court order."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )
    applicant_name = forms.CharField(label=_("Your full name"), required=False, max_length=200)
    applicant_address = forms.CharField(
        label=_("Your address, if different"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
    )
    applicant_email = forms.EmailField(label=_("Your email address (optional)"), required=False)
    applicant_phone = forms.CharField(label=_("Your phone number (optional)"), required=False, max_length=40)
    declaration = forms.BooleanField(
        label=_(
            "I confirm that the information I have given is true, and that I am the person named above or "
            "have the authority I have described to act for them."
        ),
        error_messages={"required": _("Confirm the declaration to send your opt-out")},
    )

    def clean_nhs_number(self) -> str:
        value = nhs_numbers.normalise(self.cleaned_data["nhs_number"])
        if value and not nhs_numbers.is_valid(value):
            raise forms.ValidationError(
                _("This is not a valid NHS number. Check it, or leave it empty if you are not sure.")
            )
        return value

    def clean_postcode(self) -> str:
        value = " ".join(self.cleaned_data["postcode"].upper().split())
        if not _POSTCODE.match(value):
            raise forms.ValidationError(_("Enter a UK postcode, for example DT1 1UZ"))
        return value

    def clean(self) -> dict:
        data = super().clean()
        if data.get("on_behalf", OptOut.OnBehalf.SELF) != OptOut.OnBehalf.SELF:
            if not data.get("applicant_name", "").strip():
                self.add_error("applicant_name", _("Enter your full name"))
            if not data.get("authority"):
                self.add_error("authority", _("Tell us what authority you have to act for them"))
            elif data["authority"] == OptOut.Authority.OTHER and not data.get("authority_detail", "").strip():
                self.add_error("authority_detail", _("Describe your authority to act for them"))
        return data

    def details(self) -> OptOutDetails:
        data = self.cleaned_data
        for_self = data["on_behalf"] == OptOut.OnBehalf.SELF
        return OptOutDetails(
            given_names=data["given_names"].strip(),
            family_name=data["family_name"].strip(),
            date_of_birth=data["date_of_birth"],
            address=data["address"].strip(),
            postcode=data["postcode"],
            declaration=data["declaration"],
            nhs_number=data["nhs_number"],
            email=data["email"],
            phone=data["phone"].strip(),
            on_behalf=data["on_behalf"],
            authority="" if for_self else data["authority"],
            authority_detail="" if for_self else data["authority_detail"].strip(),
            applicant_name="" if for_self else data["applicant_name"].strip(),
            applicant_address="" if for_self else data["applicant_address"].strip(),
            applicant_email="" if for_self else data["applicant_email"],
            applicant_phone="" if for_self else data["applicant_phone"].strip(),
        )


class EasyReadOptOutForm(OptOutForm):
    """The same questions in short, plain sentences."""

    EASY_LABELS = {
        "on_behalf": (_("Who do you want to opt out?"), ""),
        "given_names": (_("First name"), ""),
        "family_name": (_("Last name"), ""),
        "date_of_birth": (_("Birthday"), _("Day / month / year. Like this: 15/03/1984")),
        "nhs_number": (_("NHS number"), _("You can leave this empty.")),
        "address": (_("Home address"), ""),
        "postcode": (_("Postcode"), ""),
        "email": (_("Email"), _("You can leave this empty.")),
        "phone": (_("Phone"), _("You can leave this empty.")),
        "authority": (_("Why can you do this for them?"), ""),
        "authority_detail": (_("Tell us more"), ""),
        "applicant_name": (_("Your name"), ""),
        "applicant_address": (_("Your address"), _("You can leave this empty.")),
        "applicant_email": (_("Your email"), _("You can leave this empty.")),
        "applicant_phone": (_("Your phone"), _("You can leave this empty.")),
        "declaration": (_("What I have written is true."), ""),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on_behalf"].choices = [
            (OptOut.OnBehalf.SELF, _("Me")),
            (OptOut.OnBehalf.CHILD, _("My child")),
            (OptOut.OnBehalf.AUTHORITY, _("Someone I can legally decide for")),
        ]
        for name, (label, help_text) in self.EASY_LABELS.items():
            self.fields[name].label = label
            self.fields[name].help_text = help_text
