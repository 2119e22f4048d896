"""Forms of the nurture pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from nurture.content import MERGE_FIELDS
from nurture.models import SKIP_IF_CHOICES, Channel, Track

GRADES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]


def _nurture_reason_choices() -> list[tuple[str, str]]:
    from leads.queue_policy import NO_RESPONSE_CODE, Route, active_policy

    reasons = [(r.code, r.label) for r in active_policy().rejection_reasons if r.route == Route.RETURN_TO_NURTURE]
    return [(NO_RESPONSE_CODE, "No response after the minimum touches"), *reasons]


class TrackForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(
        max_length=60, required=False, help_text="The ULD routes name a track as nurture:<slug>. Blank: from the name."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    audience_grades = forms.MultipleChoiceField(
        choices=GRADES, required=False, widget=forms.CheckboxSelectMultiple, label="Grades it is for"
    )
    audience_reasons = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple, label="Rejection reasons that feed it"
    )
    is_default_return = forms.BooleanField(
        required=False, label="Default track for leads sales returns with a reason no track lists"
    )
    on_complete = forms.ChoiceField(choices=Track.OnComplete.choices, label="When a lead completes the track")
    recycle_track = forms.ModelChoiceField(queryset=Track.objects.none(), required=False, label="Recycle into")
    recycle_after_days = forms.IntegerField(min_value=0, max_value=3650, initial=30, label="Recycle after (days)")

    def __init__(self, *args, track: Track | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience_reasons"].choices = _nurture_reason_choices()
        others = Track.objects.order_by("name")
        if track is not None:
            others = others.exclude(pk=track.pk)
            self.fields.pop("slug")
        self.fields["recycle_track"].queryset = others


class StepForm(forms.Form):
    wait_days = forms.IntegerField(min_value=0, max_value=365, initial=3, label="Wait (days after the previous step)")
    channel = forms.ChoiceField(choices=Channel.choices)
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Merge fields: " + ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS),
    )
    content_url = forms.URLField(max_length=500, required=False, label="Content link", assume_scheme="https")
    skip_if = forms.ChoiceField(choices=SKIP_IF_CHOICES, required=False, label="Skip if")


class BulkEnrolForm(forms.Form):
    track = forms.ModelChoiceField(queryset=Track.objects.filter(status=Track.Status.ACTIVE))
    lead = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=False)
    next = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer passes here; the service checks each lead.
        self.fields["lead"].valid_value = lambda value: str(value).isdigit()


class PreviewForm(forms.Form):
    lead = forms.IntegerField(min_value=1, required=False)
    step = forms.IntegerField(min_value=1, required=False)
