from __future__ import annotations

from django import forms

from leads.models import Campaign, DuplicatePolicy


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="List file (CSV, TSV, TXT or XLSX)")
    source = forms.CharField(
        required=False, max_length=100, label="Source (badge scanner, app or tool that exported it)"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("-starts_on", "name"), required=False, empty_label="— create a new one —"
    )
    new_campaign_name = forms.CharField(required=False, max_length=200, label="New campaign: show name")
    starts_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cost = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2)

    def clean(self):
        data = super().clean()
        if not data.get("campaign") and not (data.get("new_campaign_name") or "").strip():
            raise forms.ValidationError("Pick the campaign (the show) or give a name to create one.")
        return data


class ImportConfigureForm(forms.Form):
    encoding = forms.CharField(required=False, max_length=20)
    delimiter = forms.CharField(required=False, max_length=2, strip=False)
    sheet = forms.CharField(required=False, max_length=200)
    header_line = forms.IntegerField(required=False, min_value=1, max_value=10_000)
    keep_extra = forms.BooleanField(required=False)
    duplicate_policy = forms.ChoiceField(choices=DuplicatePolicy.choices, required=False)
    preset_name = forms.CharField(required=False, max_length=100)
