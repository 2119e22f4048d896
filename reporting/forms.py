"""Forms of the report pages that are not the shared filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms

from reporting.selectors import Assumptions

RATIO_FIELDS = (
    ("inquiry_mql", "Inquiry → MQL %"),
    ("mql_sal", "MQL → SAL %"),
    ("sal_sql", "SAL → SQL %"),
    ("sql_opportunity", "SQL → opportunity %"),
    ("opportunity_won", "Opportunity → won %"),
)


class RevenueGapForm(forms.Form):
    """A revenue target and the assumptions behind it; each assumption defaults to the measured value."""

    target = forms.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"), label="Revenue target")
    avg_deal = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, label="Average won deal"
    )

    def __init__(self, *args, measured: Assumptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.measured = measured
        for name, label in RATIO_FIELDS:
            self.fields[name] = forms.DecimalField(
                max_digits=6,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                required=False,
                label=label,
            )
            value = getattr(measured, name)
            if value:
                self.fields[name].widget.attrs["placeholder"] = f"{value * 100:.1f} (measured)"
        if measured.avg_deal:
            self.fields["avg_deal"].widget.attrs["placeholder"] = f"{measured.avg_deal} (measured)"

    def clean(self):
        data = super().clean()
        missing = []
        if not data.get("avg_deal") and not self.measured.avg_deal:
            missing.append("average won deal")
        for name, label in RATIO_FIELDS:
            if data.get(name) is None and not getattr(self.measured, name):
                missing.append(label.removesuffix(" %"))
        if missing:
            raise forms.ValidationError(
                "Nothing was measured in this period for: "
                + ", ".join(missing)
                + ". Enter a value for each, or choose a longer period."
            )
        return data

    def assumptions(self) -> Assumptions:
        """Return the assumptions to use: what was entered, else what was measured."""
        data = self.cleaned_data
        ratios = {
            name: float(data[name]) / 100 if data.get(name) is not None else getattr(self.measured, name)
            for name, _ in RATIO_FIELDS
        }
        return Assumptions(avg_deal=data.get("avg_deal") or self.measured.avg_deal, **ratios)


def month_from_param(value: str | None, *, today: dt.date) -> dt.date | None:
    """Return the first day of the month written YYYY-MM, last month when empty, None when unreadable."""
    if not value:
        return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None
