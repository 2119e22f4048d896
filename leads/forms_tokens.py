from __future__ import annotations

from django import forms

from leads.models import APIScope, APITokenKind
from leads.models.api_tokens import ALL_SCOPES


class APITokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “website form” or “my laptop”.")
    kind = forms.ChoiceField(choices=APITokenKind.choices, initial=APITokenKind.PERSONAL, widget=forms.RadioSelect)
    scopes = forms.MultipleChoiceField(
        choices=[(ALL_SCOPES, "Everything my role allows (personal tokens only)"), *APIScope.choices],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
    )

    def __init__(self, *args, may_issue_integration: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_issue_integration:
            self.fields["kind"].choices = [(APITokenKind.PERSONAL, APITokenKind.PERSONAL.label)]
