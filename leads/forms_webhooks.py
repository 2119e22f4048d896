from __future__ import annotations

from django import forms

from leads.lifecycle import Stage


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who receives it, e.g. “CRM – sales-ready leads”.")
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text="An https:// address of your CRM or automation tool."
    )
    stages = forms.MultipleChoiceField(
        choices=Stage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[Stage.SQL, Stage.OPPORTUNITY],
        help_text="Send when a lead reaches one of these stages. None ticked: every stage change.",
    )
