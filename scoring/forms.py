"""Rule forms: parse the editor's text into rule values; the service refuses rules that cannot apply."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from leads.models import ActivityKind

from .models import Operator, PayloadOperator
from .rules import FIT_FIELDS, NUMBER_FIELDS


def _number_or_text(text: str):
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else float(number)


class FitRuleForm(forms.Form):
    label = forms.CharField(max_length=200)
    field = forms.ChoiceField(choices=[(f, f.replace("_", " ")) for f in FIT_FIELDS])
    operator = forms.ChoiceField(choices=Operator.choices)
    value = forms.CharField(required=False, help_text="Lists: separate with commas. Range: min–max, e.g. 200-5000.")
    points = forms.IntegerField()

    def rule_fields(self) -> dict:
        data = dict(self.cleaned_data)
        text, op = data["value"].strip(), data["operator"]
        numeric = data["field"] in NUMBER_FIELDS
        if op == Operator.IS_SET:
            value = None
        elif op in (Operator.ONE_OF, Operator.EMAIL_DOMAIN_IN):
            value = [part.strip() for part in text.split(",") if part.strip()]
            if numeric:
                value = [_number_or_text(v) for v in value]
        elif op == Operator.RANGE:
            low, _, high = text.partition("-")
            value = {"min": _number_or_text(low.strip()) if low.strip() else None}
            value["max"] = _number_or_text(high.strip()) if high.strip() else None
        else:
            value = _number_or_text(text) if numeric else text
        data["value"] = value
        return data


class EngagementRuleForm(forms.Form):
    label = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    payload_key = forms.CharField(
        required=False,
        label="Payload key (optional)",
        max_length=60,
        help_text="A key of the activity's details, e.g. url (an API event's property) or rating (a badge scan).",
    )
    payload_operator = forms.ChoiceField(choices=[("", "—"), *PayloadOperator.choices], required=False)
    payload_value = forms.CharField(required=False, max_length=200)
    points = forms.IntegerField(help_text="Per occurrence.")
    cap = forms.IntegerField(required=False)
    half_life_days = forms.IntegerField(required=False, label="Half-life (days)")
    expires_after_days = forms.IntegerField(required=False, label="Expires after (days)")


class PointsForm(forms.Form):
    points = forms.IntegerField()
