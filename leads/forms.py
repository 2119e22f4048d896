from __future__ import annotations

from django import forms

from leads.lifecycle import Stage
from leads.models import Campaign
from leads.models.lead import Grade

# Ids in the URL are compared with bigint columns; anything larger is a typo, not a lead.
MAX_ID = 2**63 - 1


class LeadFilterForm(forms.Form):
    """The lead list's filters, read from the query string so a filtered list is a shareable link.

    A bad value (a stage that does not exist, `after=abc`) is reported next to the filters and ignored;
    the other filters still apply.
    """

    q = forms.CharField(required=False, max_length=200, label="Search")
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "Any stage"), *Stage.choices],
        error_messages={"invalid_choice": "There is no such stage; pick one from the list."},
    )
    grade = forms.ChoiceField(
        required=False,
        choices=[("", "Any grade"), *[(g, g) for g in Grade.values if g], ("none", "Not scored")],
        error_messages={"invalid_choice": "Grades are A, B, C, D or not scored."},
    )
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Owner")
    unassigned = forms.BooleanField(required=False)
    campaign = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, label="Campaign")
    after = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        label="Page cursor",
        error_messages={
            "invalid": "This page link is broken; showing the first page.",
            "min_value": "This page link is broken; showing the first page.",
            "max_value": "This page link is broken; showing the first page.",
        },
    )

    def __init__(self, *args, owners: list[tuple[int, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Any owner"), *owners]
        self.fields["owner"].error_messages["invalid_choice"] = "That is not a person whose leads you can see."

    def clean_campaign(self) -> int | None:
        campaign_id = self.cleaned_data["campaign"]
        if campaign_id is not None and not Campaign.objects.filter(pk=campaign_id).exists():
            raise forms.ValidationError("There is no such campaign.")
        return campaign_id

    def error_summary(self) -> list[str]:
        """Return one readable line per bad filter, naming the filter and the value given."""
        lines = []
        for name, errors in self.errors.items():
            label = self.fields[name].label or name.capitalize()
            value = self.data.get(name, "")
            shown = value if len(value) <= 40 else value[:40] + "…"
            lines.append(f"{label} “{shown}”: {' '.join(errors)}")
        return lines


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices)
    expected_stage = forms.ChoiceField(choices=Stage.choices)
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
