"""The rep queue's policy comes from the agreed Universal Lead Definition."""

from __future__ import annotations

import pytest

from leads.models import ULDVersion
from leads.queue_policy import NO_RESPONSE_CODE, QueuePolicy, Route, active_policy
from leads.selectors_uld import uld_active


@pytest.mark.django_db
def test_policy_reads_the_agreed_definition():
    version = uld_active()
    ULDVersion.objects.filter(pk=version.pk).update(
        first_touch_business_hours=2, min_touches_before_no_response=11, follow_up_cadence_days=[3, 5]
    )

    policy = active_policy()

    assert policy.first_touch_business_hours == 2
    assert policy.min_touches_before_no_response == 11
    assert policy.follow_up_cadence_days == (3, 5)
    codes = {reason.code: reason.route for reason in policy.rejection_reasons}
    assert codes["not_now"] == Route.RETURN_TO_NURTURE
    assert codes["bad_fit"] == Route.DISQUALIFY
    # "No response" has its own action, which counts touches first; it is never a plain reason.
    assert NO_RESPONSE_CODE not in codes


@pytest.mark.django_db
def test_policy_falls_back_to_defaults_before_any_definition_is_agreed():
    ULDVersion.objects.filter(status="agreed").update(status="retired")
    assert active_policy() == QueuePolicy()
