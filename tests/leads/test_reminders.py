from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import AssignmentKind, AssignmentLog, DigestSent, Lead, Notification, Reminder, ReminderKind
from leads.queue_policy import active_policy
from leads.roles import Role
from leads.services.queue import lead_touch_log
from leads.services.reminders import digests_send, notifications_mark_read, reminders_send_due, sla_enforce
from leads.tasks import queue_reminders_send, queue_sla_enforce
from tests.factories import LeadFactory, TeamFactory, UserFactory

UTC = dt.UTC


def owned_lead(owner, **fields):
    """A lead of `owner`; a follow-up set here is owed its reminder, as the queue services set it."""
    lead = LeadFactory(stage=Stage.SAL, owner=owner)
    if "next_follow_up_at" in fields:
        fields.setdefault("reminder_due_at", fields["next_follow_up_at"])
    Lead.objects.filter(pk=lead.pk).update(**fields)
    lead.refresh_from_db()
    return lead


@pytest.mark.django_db
def test_a_due_follow_up_reminds_its_owner_once_by_email_and_notification(alice):
    due = timezone.now() - dt.timedelta(minutes=5)
    lead = owned_lead(alice, next_follow_up_at=due)
    assert reminders_send_due() == 1
    assert reminders_send_due() == 0
    reminder = Reminder.objects.get(lead=lead)
    assert (reminder.kind, reminder.due_at, reminder.recipient) == (ReminderKind.FOLLOW_UP, due, alice)
    assert reminder.emailed_at is not None
    assert Notification.objects.filter(recipient=alice, lead=lead).count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [alice.email]


@pytest.mark.django_db
def test_rescheduling_makes_a_new_due_time_that_is_reminded_again(alice):
    lead = owned_lead(alice, next_follow_up_at=timezone.now() - dt.timedelta(hours=2))
    reminders_send_due()
    again = timezone.now() - dt.timedelta(minutes=1)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=again, reminder_due_at=again)
    assert reminders_send_due() == 1
    assert Reminder.objects.filter(lead=lead).count() == 2


@pytest.mark.django_db
def test_future_and_already_reminded_follow_ups_are_not_reminded(alice, bob):
    owned_lead(alice, next_follow_up_at=timezone.now() + dt.timedelta(minutes=5))
    owned_lead(bob, next_follow_up_at=timezone.now() - dt.timedelta(hours=30), reminder_due_at=None)
    assert reminders_send_due() == 0
    assert Notification.objects.count() == 0


def test_a_pending_reminder_on_a_lead_that_left_sales_is_dropped(alice):
    lead = owned_lead(alice, next_follow_up_at=timezone.now() - dt.timedelta(minutes=1))
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    assert reminders_send_due() == 0
    assert Lead.objects.get(pk=lead.pk).reminder_due_at is None


def test_scheduling_through_the_service_owes_exactly_one_reminder(alice):
    from leads.services.queue import lead_follow_up_schedule

    lead = owned_lead(alice)
    lead_follow_up_schedule(lead=lead, by=alice, at=timezone.now() + dt.timedelta(hours=1))
    assert reminders_send_due(now=timezone.now() + dt.timedelta(hours=2)) == 1
    assert reminders_send_due(now=timezone.now() + dt.timedelta(hours=3)) == 0


@pytest.mark.django_db
def test_reminder_goes_only_to_the_current_owner(alice, bob):
    lead = owned_lead(alice, next_follow_up_at=timezone.now() - dt.timedelta(minutes=1))
    Lead.objects.filter(pk=lead.pk).update(owner=bob)
    reminders_send_due()
    assert not Notification.objects.filter(recipient=alice).exists()
    assert Notification.objects.get(recipient=bob).lead == lead


@pytest.mark.django_db
def test_the_task_run_twice_reminds_once(alice):
    owned_lead(alice, next_follow_up_at=timezone.now() - dt.timedelta(minutes=1))
    queue_reminders_send.apply()
    queue_reminders_send.apply()
    assert Reminder.objects.count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_unique_constraint_refuses_a_second_reminder_for_the_same_due_time(alice):
    from django.db import IntegrityError, transaction

    due = timezone.now()
    lead = owned_lead(alice, next_follow_up_at=due)
    Reminder.objects.create(lead=lead, kind=ReminderKind.FOLLOW_UP, due_at=due, recipient=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(lead=lead, kind=ReminderKind.FOLLOW_UP, due_at=due, recipient=alice)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Two beat processes racing need real concurrent transactions (PostgreSQL); CI runs this there.",
)
@pytest.mark.django_db(transaction=True)
def test_two_scans_racing_remind_each_follow_up_exactly_once():
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    team = TeamFactory(name="Race")
    rep = UserFactory(username="racer", role=Role.SALES_REP, team=team)
    due = timezone.now() - dt.timedelta(minutes=1)
    leads = [owned_lead(rep, next_follow_up_at=due - dt.timedelta(seconds=i)) for i in range(40)]
    barrier = threading.Barrier(3)
    errors = []

    def scan() -> None:
        try:
            barrier.wait()
            reminders_send_due()
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Reminder.objects.filter(lead__in=leads).count() == 40
    assert Notification.objects.filter(recipient=rep).count() == 40
    assert len(mail.outbox) == 40


@pytest.fixture
def breached(alice):
    """A lead assigned to alice whose first touch was due two hours ago."""
    due = timezone.now() - dt.timedelta(hours=2)
    return owned_lead(alice, assigned_at=due - dt.timedelta(hours=4), first_touch_due_at=due, next_follow_up_at=due)


@pytest.mark.django_db
def test_breached_sla_escalates_to_the_manager_once(breached, manager):
    assert sla_enforce().escalated == 1
    assert sla_enforce().escalated == 0
    note = Notification.objects.get(recipient=manager)
    assert note.kind == ReminderKind.ESCALATION and "SLA breached" in note.text
    assert [m.to for m in mail.outbox] == [[manager.email]]


@pytest.mark.django_db
def test_a_touched_lead_is_not_escalated(breached, alice, manager):
    lead_touch_log(lead=breached, by=alice, channel="call", outcome="connected")
    assert sla_enforce().escalated == 0
    assert not Notification.objects.filter(recipient=manager).exists()


@pytest.mark.django_db
def test_untouched_past_the_reclaim_period_is_reassigned_and_logged(alice, bob, manager, team_east):
    from leads.models import AssignmentRule, RuleField

    AssignmentRule.objects.create(position=1, field=RuleField.ANY, team=team_east)
    hours = active_policy().reclaim_after_hours
    due = timezone.now() - dt.timedelta(hours=hours + 1)
    lead = owned_lead(alice, assigned_at=due - dt.timedelta(hours=4), first_touch_due_at=due)
    run = queue_sla_enforce.apply().get()
    assert run["reclaimed"] == 1
    lead.refresh_from_db()
    assert lead.owner == bob and lead.first_touch_due_at > timezone.now()
    log = AssignmentLog.objects.get(lead=lead, kind=AssignmentKind.RECLAIM)
    assert (log.from_owner, log.to_owner) == (alice, bob)
    assert sla_enforce().reclaimed == 0


@pytest.mark.django_db
def test_reclaim_with_nobody_else_returns_the_lead_to_the_pool(alice, manager):
    due = timezone.now() - dt.timedelta(hours=active_policy().reclaim_after_hours + 1)
    lead = owned_lead(alice, assigned_at=due - dt.timedelta(hours=4), first_touch_due_at=due)
    assert sla_enforce().reclaimed == 1
    lead.refresh_from_db()
    assert lead.owner is None
    assert AssignmentLog.objects.filter(lead=lead, kind=AssignmentKind.RELEASE).exists()


@pytest.mark.django_db
def test_daily_digest_is_sent_once_per_local_day(alice, bob, team_east):
    team_east.time_zone = "America/New_York"
    team_east.save()
    morning = dt.datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 in New York
    owned_lead(alice, next_follow_up_at=morning - dt.timedelta(hours=1))
    before = dt.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 05:00 in New York
    assert digests_send(now=before) == 0
    assert digests_send(now=morning) == 2
    assert digests_send(now=morning + dt.timedelta(hours=2)) == 0
    assert DigestSent.objects.filter(recipient=alice).count() == 1
    body = next(m.body for m in mail.outbox if m.to == [alice.email])
    assert "Overdue: 1" in body


@pytest.mark.django_db
def test_mark_read_clears_the_unread_count(alice):
    owned_lead(alice, next_follow_up_at=timezone.now() - dt.timedelta(minutes=1))
    reminders_send_due()
    assert notifications_mark_read(user=alice) == 1
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()
