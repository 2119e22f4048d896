"""Sending steps: in order, after their waits, at most once each, never to unsubscribed leads."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import Activity, Lead
from leads.models.activity import ActivityKind
from nurture.models import Delivery, Enrolment, ExitReason, Suppression, Track
from nurture.services.delivery import enrolment_advance, enrolments_advance_due, task_complete
from nurture.services.engagement import unsubscribe_record
from nurture.services.enrolment import enrolment_create
from nurture.services.tracks import track_update
from nurture.tokens import unsubscribe_lead_id, unsubscribe_token
from tests.nurture.conftest import nurture_lead, three_step_track

DAY = dt.timedelta(days=1)


@pytest.mark.django_db
def test_steps_go_out_in_order_after_their_waits_and_count_as_touches(track, marketer):
    lead = nurture_lead()
    start = timezone.now()
    enrolment_create(lead=lead, track=track, at=start)

    assert enrolments_advance_due(now=start) == 1
    assert [m.subject for m in mail.outbox] == ["Bea, a guide for Acme Corp"]
    assert enrolments_advance_due(now=start + DAY) == 0  # the call task waits two days

    enrolments_advance_due(now=start + 2 * DAY + dt.timedelta(minutes=1))
    task = Delivery.objects.get(lead=lead, step__position=2)
    assert (task.status, task.assignee) == (Delivery.Status.TASK_OPEN, marketer)
    assert len(mail.outbox) == 1
    task_complete(delivery=task, by=marketer, note="Left a voicemail")

    assert enrolments_advance_due(now=start + 5 * DAY + dt.timedelta(minutes=2)) == 1
    assert mail.outbox[1].subject == "Case study for Acme Corp"
    enrolments_advance_due(now=start + 6 * DAY)
    assert Enrolment.objects.get(lead=lead).status == "active"  # a week to respond to the last touch
    enrolments_advance_due(now=start + 12 * DAY + dt.timedelta(minutes=3))

    lead.refresh_from_db()
    assert lead.nurture_touches == 3
    assert Activity.objects.filter(lead=lead, kind=ActivityKind.NURTURE_EMAIL).count() == 2
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", ExitReason.COMPLETED)
    assert lead.stage == Stage.NURTURE  # parked


@pytest.mark.django_db
def test_an_email_carries_merge_fields_a_tracked_link_and_one_click_unsubscribe(track):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    message = mail.outbox[0]
    delivery = Delivery.objects.get(lead=lead)
    assert message.to == [lead.email]
    assert "Hi Bea," in message.body and "Mark" not in message.subject
    assert "/nurture/c/" in message.body and "https://example.com/guide" not in message.body
    # The token carries its signing time, so read it back rather than signing again (the second may differ).
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http") and header.endswith("/>") and "/nurture/u/" in header
    assert unsubscribe_lead_id(header.rstrip("/>").rsplit("/", 1)[-1]) == lead.pk
    assert header[1:-1] in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0][0]
    assert "<a href=" in html and "Unsubscribe" in html
    assert delivery.status == Delivery.Status.SENT


@pytest.mark.django_db
def test_an_unsubscribed_lead_never_gets_another_nurture_email(track, marketer):
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    assert unsubscribe_record(token=unsubscribe_token(lead.pk)) is True
    assert Enrolment.objects.get(lead=lead).exit_reason == ExitReason.UNSUBSCRIBED

    # Enrolled again later (say, returned by sales): task steps only.
    enrolment_create(lead=lead, track=track)
    now = timezone.now()
    for days in (0, 2, 5, 6):
        enrolments_advance_due(now=now + days * DAY + dt.timedelta(minutes=days))
    assert mail.outbox == []
    statuses = list(Delivery.objects.filter(lead=lead).order_by("step__position").values_list("status", flat=True))
    assert statuses == ["skipped", "task_open", "skipped"]


@pytest.mark.django_db
def test_a_lead_without_email_gets_only_task_steps(track):
    lead = nurture_lead(email=None, phone="+1 555 0100")
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    delivery = Delivery.objects.get(lead=lead)
    assert delivery.status == Delivery.Status.SKIPPED and "no email" in delivery.note
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_step_is_skipped_when_the_lead_already_did_what_it_asks(marketer):
    from nurture.services.tracks import step_update

    track = three_step_track(by=marketer)
    step_update(step=track.steps.get(position=1), by=marketer, skip_if="download")
    lead = nurture_lead()
    Activity.objects.create(lead=lead, kind="download", source="test")
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    assert Delivery.objects.get(lead=lead).status == Delivery.Status.SKIPPED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_completed_lead_is_recycled_into_another_track_after_n_days(marketer):
    later = three_step_track(by=marketer, slug="long-term", name="Long term")
    first = three_step_track(by=marketer, slug="short", name="Short")
    track_update(
        track=first, by=marketer, on_complete=Track.OnComplete.RECYCLE, recycle_track=later, recycle_after_days=30
    )
    lead = nurture_lead()
    start = timezone.now()
    enrolment_create(lead=lead, track=first, at=start)
    for minutes, days in enumerate((0, 2, 5, 12)):
        enrolments_advance_due(now=start + days * DAY + dt.timedelta(minutes=minutes))
    recycled = Enrolment.objects.get(lead=lead, status="active")
    assert (recycled.track, recycled.source) == (later, "recycle")
    assert recycled.next_due_at >= start + 42 * DAY


@pytest.mark.django_db
def test_a_bounce_suppresses_the_lead_and_ends_its_enrolment(track, monkeypatch):
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({self.to[0]: (550, b"no such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    enrolments_advance_due()
    assert Suppression.objects.get(lead=lead).reason == "bounced"
    assert Enrolment.objects.get(lead=lead).exit_reason == ExitReason.BOUNCED
    assert Delivery.objects.get(lead=lead).status == Delivery.Status.FAILED


@pytest.mark.django_db
def test_advancing_the_same_enrolment_twice_sends_its_step_once(track):
    lead = nurture_lead()
    enrolment = enrolment_create(lead=lead, track=track)
    now = timezone.now()
    assert enrolment_advance(enrolment_id=enrolment.pk, now=now) == 1
    assert enrolment_advance(enrolment_id=enrolment.pk, now=now) == 0
    assert len(mail.outbox) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent connections need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_beat_runs_send_each_step_exactly_once(marketer):
    track = three_step_track(by=marketer)
    leads = [nurture_lead(email=f"lead{i}@concurrent.example") for i in range(6)]
    for lead in leads:
        enrolment_create(lead=lead, track=track)
    now = timezone.now()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(enrolments_advance_due(now=now))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(results) == 6
    assert len(mail.outbox) == 6
    assert Delivery.objects.count() == 6
    assert sorted(Lead.objects.values_list("nurture_touches", flat=True)) == [1] * 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent connections need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_redelivered_task_run_alongside_the_first_sends_the_step_once(marketer):
    from nurture.tasks import nurture_advance

    track = three_step_track(by=marketer)
    lead = nurture_lead()
    enrolment_create(lead=lead, track=track)
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            nurture_advance.apply()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(lead=lead).count() == 1


@pytest.mark.django_db
def test_an_email_claimed_by_a_worker_that_died_shows_as_failed_and_is_never_sent_twice(track):
    from nurture.services.delivery import _claim, deliveries_stale_fail

    lead = nurture_lead()
    start = timezone.now()
    enrolment_create(lead=lead, track=track, at=start)
    claim = _claim(enrolment_id=Enrolment.objects.get(lead=lead).pk, now=start)  # the worker dies here
    assert deliveries_stale_fail(now=start + dt.timedelta(minutes=5)) == 0  # maybe still sending

    assert deliveries_stale_fail(now=start + dt.timedelta(hours=1)) == 1
    delivery = Delivery.objects.get(pk=claim.delivery_id)
    assert delivery.status == Delivery.Status.FAILED and "never sent twice" in delivery.note
    enrolments_advance_due(now=start + dt.timedelta(hours=1))
    assert mail.outbox == [] and Delivery.objects.filter(lead=lead, step__position=1).count() == 1
