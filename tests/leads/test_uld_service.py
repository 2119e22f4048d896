from __future__ import annotations

import pytest

from leadops.errors import ApplicationError
from leads.models import ULDStatus, ULDVersion
from leads.roles import Role
from leads.selectors_uld import uld_active, uld_diff
from leads.services.uld import uld_draft_create, uld_propose, uld_sign, uld_update, uld_withdraw
from scoring.models import FitRule, RescoreRun
from scoring.services import fit_rule_create, rule_delete
from tests.factories import UserFactory


@pytest.fixture
def seeded(db):
    return uld_active()


@pytest.fixture
def draft(seeded, marketer):
    return uld_draft_create(by=marketer)


def test_the_seeded_default_is_the_one_active_version(seeded):
    assert seeded.number == 1
    assert ULDVersion.objects.filter(status=ULDStatus.AGREED).count() == 1
    assert seeded.fit_rules.count() > 5 and seeded.engagement_rules.count() > 5


def test_new_draft_copies_settings_rules_and_reasons(seeded, draft):
    assert draft.status == ULDStatus.DRAFT and draft.number == 2 and draft.based_on == seeded
    assert draft.fit_rules.count() == seeded.fit_rules.count()
    assert draft.engagement_rules.count() == seeded.engagement_rules.count()
    assert draft.rejection_reasons.count() == seeded.rejection_reasons.count()
    assert draft.grade_a_min == seeded.grade_a_min


def test_agreed_version_is_never_edited(seeded, marketer):
    with pytest.raises(ApplicationError, match="cannot be edited"):
        uld_update(version=seeded, by=marketer, grade_a_min=80)
    rule = seeded.fit_rules.first()
    with pytest.raises(ApplicationError, match="cannot be edited"):
        rule_delete(rule=rule, by=marketer)


def test_reps_and_executives_cannot_draft(seeded, alice, executive):
    for user in (alice, executive):
        with pytest.raises(ApplicationError, match="Only Marketing and Sales Managers"):
            uld_draft_create(by=user)


def test_agreeing_needs_marketing_and_a_sales_manager_then_retires_the_old(
    seeded, draft, marketer, manager, django_capture_on_commit_callbacks
):
    uld_update(version=draft, by=marketer, grade_a_min=75, summary="Stricter A")
    uld_propose(version=draft, by=marketer)
    uld_sign(version=draft, by=marketer)
    draft.refresh_from_db()
    assert draft.status == ULDStatus.PROPOSED
    with pytest.raises(ApplicationError, match="already signed"):
        uld_sign(version=draft, by=marketer)
    other_marketer = UserFactory(username="mo", role=Role.MARKETING)
    with pytest.raises(ApplicationError, match="Marketing has already signed"):
        uld_sign(version=draft, by=other_marketer)
    with django_capture_on_commit_callbacks():
        uld_sign(version=draft, by=manager)
    draft.refresh_from_db()
    seeded.refresh_from_db()
    assert draft.status == ULDStatus.AGREED and seeded.status == ULDStatus.RETIRED
    assert uld_active() == draft
    assert RescoreRun.objects.filter(uld_version=draft, reason="publish").exists()


def test_one_person_with_both_roles_cannot_agree_alone(draft, marketer):
    both = UserFactory(username="both", role=Role.MARKETING)
    from django.contrib.auth.models import Group

    both.groups.add(Group.objects.get(name=Role.SALES_MANAGER))
    uld_propose(version=draft, by=marketer)
    uld_sign(version=draft, by=both, role="marketing")
    with pytest.raises(ApplicationError, match="different person"):
        uld_sign(version=draft, by=both, role="sales_manager")


def test_a_rep_cannot_sign(draft, marketer, alice):
    uld_propose(version=draft, by=marketer)
    with pytest.raises(ApplicationError, match="Only someone in Marketing or a Sales Manager"):
        uld_sign(version=draft, by=alice)


def test_publishing_without_rules_or_with_overlapping_bands_is_refused(draft, marketer):
    uld_update(version=draft, by=marketer, grade_a_min=40, grade_b_min=45)
    with pytest.raises(ApplicationError, match="grade bands overlap"):
        uld_propose(version=draft, by=marketer)
    uld_update(version=draft, by=marketer, grade_a_min=70)
    FitRule.objects.filter(uld_version=draft).delete()
    draft.engagement_rules.all().delete()
    with pytest.raises(ApplicationError, match="no rules"):
        uld_propose(version=draft, by=marketer)


def test_withdrawn_proposal_loses_its_sign_offs(draft, marketer):
    uld_propose(version=draft, by=marketer)
    uld_sign(version=draft, by=marketer)
    uld_withdraw(version=draft, by=marketer)
    draft.refresh_from_db()
    assert draft.status == ULDStatus.DRAFT and not draft.sign_offs.exists()


def test_bad_settings_are_refused_with_a_message(draft, marketer):
    with pytest.raises(ApplicationError, match="Unknown required fact"):
        uld_update(version=draft, by=marketer, required_facts=["shoe_size"])
    with pytest.raises(ApplicationError, match="Route for grade B"):
        uld_update(version=draft, by=marketer, routes={"A": "sales_rep", "B": "", "C": "nurture:x", "D": "nurture:y"})


def test_diff_shows_changed_settings_and_rules(seeded, draft, marketer):
    draft = uld_update(version=draft, by=marketer, grade_a_min=80)
    rule = draft.fit_rules.get(label="Student")
    rule_delete(rule=rule, by=marketer)
    fit_rule_create(
        version=draft, by=marketer, label="Gov", field="industry", operator="equals", value="government", points=-5
    )
    rows = uld_diff(old=seeded, new=draft)
    changes = {(r.section, r.item, r.change) for r in rows}
    assert ("Definition", "Grade A from score", "changed") in changes
    assert ("Fit rules", "Student", "removed") in changes
    assert ("Fit rules", "Gov", "added") in changes
    assert len(rows) == 3
