"""Forms for the lead definition pages. They parse text into the service's types; the service validates."""

from __future__ import annotations

from django import forms

from leads.models.uld import REQUIRED_FACTS, RejectionRoute


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class ULDSettingsForm(forms.Form):
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    grade_a_min = forms.IntegerField(label="Grade A from score")
    grade_b_min = forms.IntegerField(label="Grade B from score")
    grade_c_min = forms.IntegerField(label="Grade C from score")
    sales_ready_min_grade = forms.ChoiceField(label="Sales-ready from grade", choices=[(g, g) for g in "ABC"])
    required_facts = forms.MultipleChoiceField(
        label="A sales-ready lead must have",
        choices=list(REQUIRED_FACTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    icp_must_haves = forms.CharField(
        label="Ideal-customer must-haves",
        required=False,
        help_text="One per line, field: values separated by commas (e.g. country: US, CA).",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    route_a = forms.CharField(label="Route for A")
    route_b = forms.CharField(label="Route for B")
    route_c = forms.CharField(label="Route for C")
    route_d = forms.CharField(label="Route for D")
    first_touch_business_hours = forms.IntegerField(label="First touch within (business hours)", min_value=0)
    follow_up_cadence_days = forms.CharField(label="Follow-up cadence (days after assignment, comma-separated)")
    min_touches_before_no_response = forms.IntegerField(label="Touches before “no response”", min_value=0)

    @classmethod
    def for_version(cls, version, data=None):
        initial = {
            "summary": version.summary,
            "grade_a_min": version.grade_a_min,
            "grade_b_min": version.grade_b_min,
            "grade_c_min": version.grade_c_min,
            "sales_ready_min_grade": version.sales_ready_min_grade,
            "required_facts": version.required_facts,
            "icp_must_haves": "\n".join(f"{k}: {', '.join(map(str, v))}" for k, v in version.icp_must_haves.items()),
            "first_touch_business_hours": version.first_touch_business_hours,
            "follow_up_cadence_days": ", ".join(str(d) for d in version.follow_up_cadence_days),
            "min_touches_before_no_response": version.min_touches_before_no_response,
        }
        initial |= {f"route_{g.lower()}": version.routes.get(g, "") for g in "ABCD"}
        return cls(data=data, initial=initial)

    def clean_icp_must_haves(self) -> dict[str, list[str]]:
        result = {}
        for line in self.cleaned_data["icp_must_haves"].splitlines():
            if not line.strip():
                continue
            field, sep, values = line.partition(":")
            if not sep:
                raise forms.ValidationError(f"Write “field: value, value” (line {line.strip()!r} has no colon).")
            result[field.strip()] = _split(values)
        return result

    def clean_follow_up_cadence_days(self) -> list[int]:
        try:
            return [int(part) for part in _split(self.cleaned_data["follow_up_cadence_days"])]
        except ValueError:
            raise forms.ValidationError("Give whole numbers of days separated by commas, e.g. 1, 2, 4, 7.")

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data["routes"] = {g: data.pop(f"route_{g.lower()}").strip() for g in "ABCD"}
        return data


class RejectionReasonForm(forms.Form):
    code = forms.SlugField(max_length=40)
    label = forms.CharField(max_length=200)
    route = forms.ChoiceField(choices=RejectionRoute.choices)
