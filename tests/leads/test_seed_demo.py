from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest

from leads.demo_accounts import DEMO_PASSWORD, DEMO_USERS
from leads.lifecycle import Stage
from leads.models import Activity, Campaign, Lead, StageChange
from leads.roles import Role, has_role
from leads.services.demo import DEMO_CAMPAIGNS, demo_seed
from scoring.models import RescoreRun, ScoreDirty
from scoring.services import rescore_chunk_process, rescore_run_start
from tests.stage_logs import assert_stage_logs_follow_transitions

pytestmark = pytest.mark.django_db
LEADS = 200


def test_seed_demo_creates_logins_in_their_roles_and_teams(client):
    call_command("seed_demo", leads=LEADS, stdout=None)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[u[0] for u in DEMO_USERS])}
    assert set(users) == {u[0] for u in DEMO_USERS}
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert has_role(users["marketer"], Role.MARKETING) and not users["marketer"].is_superuser
    assert has_role(users["rep1"], Role.SALES_REP) and has_role(users["manager"], Role.SALES_MANAGER)
    assert has_role(users["exec"], Role.EXECUTIVE)
    assert users["rep1"].profile.team.name == "East" and users["rep3"].profile.team.name == "West"
    assert users["rep1"].profile.manager == users["manager"] and users["rep2"].profile.manager == users["manager"]
    assert users["rep3"].profile.manager is None
    for username, *_ in DEMO_USERS:
        # django-axes watches every authentication, so it needs the request the login came with.
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), username


def test_seed_demo_twice_changes_nothing_the_second_time(capsys):
    call_command("seed_demo", leads=LEADS)
    before = [m.objects.count() for m in (Lead, StageChange, Activity, Campaign, get_user_model())]
    first_password = get_user_model().objects.get(username="rep1").password
    call_command("seed_demo", leads=LEADS)
    assert "already there" in capsys.readouterr().out
    assert [m.objects.count() for m in (Lead, StageChange, Activity, Campaign, get_user_model())] == before
    assert get_user_model().objects.get(username="rep1").password == first_password
    assert before[0] == LEADS


def test_seed_demo_histories_follow_allowed_transitions():
    result = demo_seed(leads=LEADS)
    assert assert_stage_logs_follow_transitions() == result.stage_changes == StageChange.objects.count()
    assert set(Lead.objects.values_list("stage", flat=True)) >= {Stage.INQUIRY, Stage.MQL, Stage.NURTURE}


def test_seed_demo_has_won_deals_with_amounts_and_owners_past_mql():
    result = demo_seed(leads=LEADS)
    won = list(Lead.objects.filter(stage=Stage.WON))
    assert result.won == len(won) > 0
    assert all(lead.deal_amount is not None and lead.deal_amount > 0 for lead in won)
    reps = set(get_user_model().objects.filter(username__in=["rep1", "rep2", "rep3"]).values_list("pk", flat=True))
    past_mql = Lead.objects.filter(stage__in=[Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON])
    assert past_mql.exists() and set(past_mql.values_list("owner_id", flat=True)) <= reps
    assert Campaign.objects.filter(name__in=[c[0] for c in DEMO_CAMPAIGNS], cost__gt=0).count() == 3
    assert Lead.objects.filter(campaign__name__startswith="Demo:").exists()
    assert Activity.objects.filter(kind="badge_scan").exists()


def test_seed_demo_refuses_an_impossible_lead_count():
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("seed_demo", leads=0)
    assert not Lead.objects.exists()


def _scores() -> dict[int, tuple]:
    rows = Lead.objects.values_list("pk", "score", "grade", "score_fit", "score_engagement")
    return {pk: rest for pk, *rest in rows}


def test_seed_demo_leaves_scores_a_rescore_does_not_move():
    now = dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC)
    demo_seed(leads=LEADS, now=now)
    seeded = _scores()
    assert {grade for _, grade, *_ in seeded.values()} >= {"C", "D"}
    assert not ScoreDirty.objects.exists()

    # Re-score every lead as of the seeding time: nothing may move and nobody may be qualified.
    run = rescore_run_start(reason=RescoreRun.Reason.MANUAL, now=now)
    for chunk_id in run.chunks.values_list("pk", flat=True):
        rescore_chunk_process(chunk_id=chunk_id)
    run.refresh_from_db()
    assert (run.status, run.leads_changed, run.leads_qualified) == (RescoreRun.Status.FINISHED, 0, 0)
    assert _scores() == seeded


def test_demo_grades_agree_with_stages():
    demo_seed(leads=1000, now=dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC))

    # The ULD routes grade A to a rep: every lead waiting for sales (MQL, SAL) is A by the engine's own score.
    waiting = Counter(Lead.objects.filter(stage__in=[Stage.MQL, Stage.SAL]).values_list("grade", flat=True))
    assert waiting["A"] > 0 and set(waiting) == {"A"}

    # An inquiry graded A would have been routed: none is. Few are nearly there (B); most are C or D.
    inquiries = Counter(Lead.objects.filter(stage=Stage.INQUIRY).values_list("grade", flat=True))
    total = sum(inquiries.values())
    assert total > 100 and inquiries["A"] == 0
    assert 0.05 <= inquiries["B"] / total <= 0.15
    assert inquiries["C"] > inquiries["B"] and inquiries["D"] > inquiries["B"]
