"""Checks on the stage-change log shared by tests of everything that writes it in bulk."""

from __future__ import annotations

from itertools import groupby

from leads.lifecycle import is_allowed
from leads.models import Lead, StageChange
from leads.selectors import stage_log_mismatches


def assert_stage_logs_follow_transitions() -> int:
    """Assert every lead's log starts from "" and moves only by allowed transitions, in time order.

    Return the number of log rows checked.
    """
    rows = StageChange.objects.order_by("lead_id", "changed_at", "id").values_list(
        "lead_id", "from_stage", "to_stage", "changed_at"
    )
    checked = 0
    for lead_id, entries in groupby(rows, key=lambda row: row[0]):
        previous, previous_at = "", None
        for _, from_stage, to_stage, changed_at in entries:
            assert from_stage == previous, f"lead {lead_id}: logged from {from_stage!r}, was {previous!r}"
            assert not previous or is_allowed(previous, to_stage), f"lead {lead_id}: {previous} -> {to_stage}"
            assert previous_at is None or changed_at >= previous_at
            previous, previous_at = to_stage, changed_at
            checked += 1
    assert not stage_log_mismatches().exists()
    assert StageChange.objects.values("lead_id").distinct().count() == Lead.objects.count()
    return checked
