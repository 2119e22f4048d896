"""Forms of the rep's queue: each parses one action's input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from leads.lifecycle import Stage
from leads.models.lead import Authority, Timeframe
from leads.queue_policy import active_policy
from leads.services.queue import BANT_ITEMS, TOUCH_KINDS, TOUCH_OUTCOMES


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    bucket = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Everything"),
            ("overdue", "Overdue"),
            ("today", "Due today"),
            ("new", "New A leads"),
            ("rest", "Later"),
        ],
    )
    grade = forms.ChoiceField(
        required=False, choices=[("", "Any grade"), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]
    )
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "Any stage")]
        + [(s.value, s.label) for s in (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)],
    )
    cursor = forms.CharField(required=False, max_length=100)


class ExpectedStageForm(forms.Form):
    expected_stage = forms.ChoiceField(choices=Stage.choices, required=False)


class RejectForm(ExpectedStageForm):
    reason = forms.ChoiceField(choices=())
    comment = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    referral_name = forms.CharField(required=False, max_length=200)
    referral_email = forms.EmailField(required=False)
    referral_title = forms.CharField(required=False, max_length=200)
    duplicate_of = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [(r.code, r.label) for r in active_policy().rejection_reasons]


class TouchForm(forms.Form):
    channel = forms.ChoiceField(choices=[(k, k.capitalize()) for k in TOUCH_KINDS])
    outcome = forms.ChoiceField(choices=list(TOUCH_OUTCOMES.items()))
    notes = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpForm(forms.Form):
    at = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])


class QualifyForm(ExpectedStageForm):
    budget_ok = forms.BooleanField(required=False, label=BANT_ITEMS["budget"])
    authority_ok = forms.BooleanField(required=False, label=BANT_ITEMS["authority"])
    need_ok = forms.BooleanField(required=False, label=BANT_ITEMS["need"])
    timeframe_ok = forms.BooleanField(required=False, label=BANT_ITEMS["timeframe"])
    budget = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    authority = forms.ChoiceField(required=False, choices=Authority.choices)
    need = forms.CharField(required=False, max_length=2000)
    timeframe = forms.ChoiceField(required=False, choices=Timeframe.choices)


class ConvertForm(ExpectedStageForm):
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    expected_close_on = forms.DateField()


class CloseForm(ExpectedStageForm):
    outcome = forms.ChoiceField(choices=[("won", "Won"), ("lost", "Lost")])
    amount = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    reason = forms.CharField(required=False, max_length=2000)


class ReassignForm(forms.Form):
    lead_ids = forms.CharField(max_length=100_000)
    to_user = forms.IntegerField(min_value=1)
    reason = forms.CharField(required=False, max_length=2000)

    def clean_lead_ids(self) -> list[int]:
        raw = self.data.getlist("lead_ids") if hasattr(self.data, "getlist") else [self.cleaned_data["lead_ids"]]
        ids = []
        for chunk in raw:
            for part in str(chunk).replace(",", " ").split():
                if not part.isdigit():
                    raise forms.ValidationError(f"{part!r} is not a lead number.")
                ids.append(int(part))
        if not ids:
            raise forms.ValidationError("Choose at least one lead.")
        return ids


def form_error_text(form: forms.Form) -> str:
    """Return a form's errors as one readable sentence for a message."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ") if name in form.fields else ""
        parts.append(f"{label.capitalize()}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(parts) or "Check the form."
