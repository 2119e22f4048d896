from __future__ import annotations

from django import forms

from leads.lifecycle import Stage
from leads.models.lead import Grade


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    grade = forms.ChoiceField(
        required=False, choices=[("", "Any grade"), *[(g, g) for g in Grade.values if g], ("none", "Not scored")]
    )
    owner = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    unassigned = forms.BooleanField(required=False)
    campaign = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices)
    expected_stage = forms.ChoiceField(choices=Stage.choices)
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
