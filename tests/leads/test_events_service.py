"""Behaviour events: stored once per key, handed over after commit, processed once into activities."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Activity, Event, EventStatus, Lead
from leads.services import events as events_service
from leads.services.events import (
    EventInput,
    event_scope,
    events_hand_over,
    events_process,
    events_record,
    events_redrive,
)
from scoring.models import ScoreDirty
from tests.factories import APITokenFactory, LeadFactory

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Real concurrent transactions need PostgreSQL (SQLite serialises whole-database writes); CI uses it.",
)


def visit(key: str = "evt-1", email: str = "new.person@example.com", **extra) -> EventInput:
    return EventInput(key=key, type="web_visit", email=email, properties={"url": "/pricing"}, **extra)


@pytest.fixture
def handovers(monkeypatch):
    """Record the after-commit hand-overs instead of publishing to the broker."""
    calls: list[list[int]] = []
    monkeypatch.setattr(events_service, "events_hand_over", lambda *, event_ids: calls.append(event_ids) or True)
    return calls


def record(marketer, *events: EventInput, scope: str | None = None):
    return events_record(scope=scope or event_scope(user=marketer), user=marketer, events=list(events))


def test_a_new_event_is_stored_received_and_handed_over_only_after_commit(marketer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [result] = record(marketer, visit())
    event = Event.objects.get()
    assert result.created and result.uuid == event.uuid
    assert event.status == EventStatus.RECEIVED and event.submitted_by == marketer
    assert event.email == "new.person@example.com" and event.lead is None
    assert len(callbacks) == 1


def test_the_same_key_posted_again_is_a_replay_of_the_stored_event(
    marketer, handovers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [first] = record(marketer, visit())
    with django_capture_on_commit_callbacks(execute=True):
        [again] = record(marketer, visit(email="  NEW.Person@Example.com "))
    assert first.created and not again.created
    assert again.uuid == first.uuid
    assert Event.objects.count() == 1
    assert handovers == [[Event.objects.get().pk]]


def test_the_same_key_with_a_different_body_is_refused_and_nothing_is_stored(marketer, handovers):
    record(marketer, visit())
    with pytest.raises(ApplicationError) as refused:
        record(marketer, visit(key="evt-2"), visit(email="someone.else@example.com"))
    assert refused.value.code == "conflict"
    assert "events[1]" in refused.value.message and "already used for a different event" in refused.value.message
    assert list(Event.objects.values_list("key", flat=True)) == ["evt-1"]


def test_one_key_twice_in_a_batch_with_different_bodies_is_refused(marketer, handovers):
    with pytest.raises(ApplicationError) as refused:
        record(marketer, visit(), visit(email="other@example.com"))
    assert refused.value.code == "conflict" and "events[0]" in refused.value.message
    assert not Event.objects.exists()


def test_one_key_twice_in_a_batch_with_the_same_body_is_stored_once(marketer, handovers):
    results = record(marketer, visit(), visit())
    assert [r.created for r in results] == [True, False]
    assert Event.objects.count() == 1


def test_two_callers_may_use_the_same_key_without_colliding(marketer, admin_user, handovers):
    record(marketer, visit())
    [other] = events_record(scope=event_scope(user=admin_user), user=admin_user, events=[visit(email="x@example.com")])
    assert other.created
    assert Event.objects.count() == 2


def test_the_scope_of_an_api_token_is_the_token_not_its_user(marketer):
    token = APITokenFactory(user=marketer, scopes=["events:write"])
    assert event_scope(user=marketer, auth=token) == f"leads.apitoken:{token.pk}"
    assert event_scope(user=marketer, auth=None) == f"user:{marketer.pk}"


def test_a_lead_id_the_caller_cannot_see_is_refused(alice, handovers):
    hidden = LeadFactory()
    with pytest.raises(ApplicationError) as refused:
        record(alice, EventInput(key="k", type="download", lead_id=hidden.pk))
    assert f"No lead {hidden.pk} that you can see" in refused.value.message
    assert refused.value.extra["errors"] == {"events[0]": [f"No lead {hidden.pk} that you can see."]}


def test_processing_a_known_email_records_one_api_activity_and_marks_the_lead_for_scoring(marketer, handovers):
    lead = LeadFactory(email="known@example.com")
    occurred = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    record(marketer, EventInput(key="c1", type="email_click", email="Known@Example.com", occurred_at=occurred))
    event = Event.objects.get()

    assert events_process(event_ids=[event.pk]) == 1
    event.refresh_from_db()
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.source, activity.occurred_at) == ("email_click", "api", occurred)
    assert activity.payload["event"] == str(event.uuid)
    assert (event.status, event.lead, event.activity) == (EventStatus.PROCESSED, lead, activity)
    if connection.vendor == "postgresql":
        assert ScoreDirty.objects.filter(lead=lead).exists()


def test_processing_an_unknown_email_creates_an_inquiry_from_the_form_fields(marketer, handovers):
    record(
        marketer,
        EventInput(
            key="f1",
            type="form_fill",
            email="Fresh@Lead.example",
            properties={"first_name": "Ada", "last_name": "Lovelace", "company": "Engines Ltd", "title": 7},
        ),
    )
    events_process(event_ids=list(Event.objects.values_list("pk", flat=True)))
    lead = Lead.objects.get(email="fresh@lead.example")
    assert (lead.stage, lead.first_name, lead.last_name, lead.company_name, lead.title) == (
        Stage.INQUIRY,
        "Ada",
        "Lovelace",
        "Engines Ltd",
        "",
    )
    assert lead.stage_changes.get().to_stage == Stage.INQUIRY
    assert list(lead.activities.values_list("kind", flat=True)) == ["form_fill"]


def test_processing_an_event_again_records_nothing_twice(marketer, handovers):
    record(marketer, visit(), visit(key="evt-2", email="second@example.com"))
    ids = list(Event.objects.values_list("pk", flat=True))
    assert events_process(event_ids=ids) == 2
    assert events_process(event_ids=ids + ids) == 0
    assert Activity.objects.count() == 2


def test_an_event_for_a_lead_that_was_deleted_fails_with_the_reason(marketer, handovers):
    lead = LeadFactory()
    lead_id = lead.pk
    record(marketer, EventInput(key="d1", type="webinar", lead_id=lead_id))
    lead.delete()
    event = Event.objects.get()
    assert events_process(event_ids=[event.pk]) == 0
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and f"No lead {lead_id}" in event.error
    assert not Activity.objects.exists()


def test_the_redrive_hands_over_stale_events_and_gives_up_after_too_many_hand_overs(marketer, handovers, settings):
    settings.LEADOPS_EVENTS_MAX_HANDOVERS = 3
    record(marketer, visit("fresh"), visit("stale", email="b@example.com"), visit("tired", email="c@example.com"))
    now = Event.objects.get(key="fresh").received_at
    Event.objects.filter(key__in=["stale", "tired"]).update(received_at=now - dt.timedelta(minutes=5))
    Event.objects.filter(key="tired").update(attempts=3)
    handovers.clear()

    assert events_redrive(now=now) == 1
    assert handovers == [[Event.objects.get(key="stale").pk]]
    tired = Event.objects.get(key="tired")
    assert tired.status == EventStatus.FAILED and "3 hand-overs" in tired.error


def test_the_redrive_resends_queued_events_whose_message_was_lost(marketer, handovers):
    record(marketer, visit())
    event = Event.objects.get()
    Event.objects.filter(pk=event.pk).update(status=EventStatus.QUEUED, handed_at=event.received_at, attempts=1)
    handovers.clear()
    assert events_redrive(now=event.received_at + dt.timedelta(minutes=1)) == 0
    assert events_redrive(now=event.received_at + dt.timedelta(hours=1)) == 1
    assert handovers == [[event.pk]]


def _in_threads(count: int, target) -> list:
    """Run target(i) in `count` threads that start together, each on its own connection; return errors."""
    errors: list = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_posts_of_one_event_store_it_once_and_create_it_once(handovers):
    from tests.factories import UserFactory

    sender = UserFactory(username="integration", is_superuser=True)
    for round_ in range(5):
        results: list = []
        batch = [visit(f"race-{round_}"), visit(f"race-{round_}-b", email="b@example.com")]
        assert _in_threads(8, lambda i, results=results, batch=batch: results.extend(record(sender, *batch))) == []
        assert Event.objects.filter(key__startswith=f"race-{round_}").count() == 2
        assert sum(r.created for r in results) == 2
        assert len({r.uuid for r in results}) == 2


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_key_with_different_bodies_store_one_and_refuse_the_rest(handovers):
    from tests.factories import UserFactory

    sender = UserFactory(username="integration", is_superuser=True)
    outcomes: list[str] = []

    def post(i: int) -> None:
        try:
            record(sender, visit("contested", email=f"person{i}@example.com"))
            outcomes.append("stored")
        except ApplicationError as exc:
            outcomes.append(exc.code)

    assert _in_threads(6, post) == []
    assert sorted(outcomes) == ["conflict"] * 5 + ["stored"]
    assert Event.objects.filter(key="contested").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_of_one_event_records_one_activity(handovers):
    from tests.factories import UserFactory

    sender = UserFactory(username="integration", is_superuser=True)
    record(sender, visit("once", email="brand.new@example.com"), visit("twice", email="brand.new@example.com"))
    ids = list(Event.objects.values_list("pk", flat=True))
    done: list[int] = []
    assert _in_threads(4, lambda i: done.append(events_process(event_ids=ids))) == []
    assert sum(done) == 2
    assert Activity.objects.count() == 2
    assert Lead.objects.filter(email="brand.new@example.com").count() == 1


@pytest.fixture
def published(monkeypatch):
    """Record the messages the hand-over publishes (a list of id lists) instead of sending them."""
    messages: list[list[int]] = []

    def send(*, task, calls, timeout=None):
        messages.extend(list(args[0]) for args in calls)
        return True

    monkeypatch.setattr(events_service, "tasks_send_safely", send)
    return messages


def _worker_consumes(messages: list[list[int]]) -> int:
    """Run every message published so far through events_process in a worker thread with its own connection."""
    done: list[int] = []
    errors: list = []

    def work() -> None:
        try:
            while messages:
                done.append(events_process(event_ids=messages.pop(0)))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)  # a bound, not a synchronisation: the claim must not wait for the hand-over
    assert not worker.is_alive(), "the worker's claim waited for the hand-over's transaction"
    assert errors == []
    return sum(done)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_claims_while_the_hand_over_marks_the_events_queued_still_processes_them(
    marketer, handovers, published
):
    record(marketer, visit("one"), visit("two", email="two@example.com"), visit("three", email="three@example.com"))
    ids = sorted(Event.objects.values_list("pk", flat=True))
    processed: list[int] = []

    def hold_the_marking_open(execute, sql, params, many, context):
        """Keep each UPDATE of events uncommitted while a worker consumes every message published so far."""
        if not sql.startswith('UPDATE "leads_event"'):
            return execute(sql, params, many, context)
        with transaction.atomic():
            result = execute(sql, params, many, context)
            processed.append(_worker_consumes(published))
        return result

    with connection.execute_wrapper(hold_the_marking_open):
        assert events_hand_over(event_ids=ids) is True
    processed.append(_worker_consumes(published))  # messages published after the marking committed

    assert sum(processed) == 3
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert Activity.objects.filter(source="api").count() == 3


def test_a_hand_over_the_broker_refuses_leaves_the_events_as_they_were(marketer, handovers, monkeypatch):
    monkeypatch.setattr(events_service, "tasks_send_safely", lambda *, task, calls, timeout=None: False)
    record(marketer, visit("new"), visit("lost", email="lost@example.com"))
    new, lost = Event.objects.get(key="new"), Event.objects.get(key="lost")
    handed = lost.received_at - dt.timedelta(hours=1)
    Event.objects.filter(pk=lost.pk).update(status=EventStatus.QUEUED, handed_at=handed, attempts=2)

    assert events_hand_over(event_ids=[new.pk, lost.pk]) is False

    new.refresh_from_db()
    lost.refresh_from_db()
    assert (new.status, new.handed_at, new.attempts) == (EventStatus.RECEIVED, None, 0)
    assert (lost.status, lost.handed_at, lost.attempts) == (EventStatus.QUEUED, handed, 2)
    assert events_redrive(now=new.received_at + dt.timedelta(minutes=1)) == 2  # so the re-drive still sees both


def test_a_hand_over_marks_the_events_queued_and_sends_only_those_still_pending(marketer, handovers, published):
    record(marketer, visit("pending"), visit("done", email="done@example.com"))
    pending, done = Event.objects.get(key="pending"), Event.objects.get(key="done")
    Event.objects.filter(pk=done.pk).update(status=EventStatus.PROCESSED)

    assert events_hand_over(event_ids=[pending.pk, done.pk]) is True

    assert published == [[pending.pk]]
    pending.refresh_from_db()
    assert pending.status == EventStatus.QUEUED and pending.attempts == 1 and pending.handed_at is not None
    assert Event.objects.get(pk=done.pk).attempts == 0


def test_an_inquiry_made_from_an_event_keeps_its_text_as_sent_and_trims_only_the_phone(marketer, handovers):
    record(
        marketer,
        EventInput(
            key="f2",
            type="form_fill",
            email="spaced@lead.example",
            properties={
                "first_name": "\u2029Ada\u2029",
                "company": " Engines\u00a0Ltd ",
                "phone": " +44 20 7946 0000 ",
            },
        ),
    )
    events_process(event_ids=list(Event.objects.values_list("pk", flat=True)))
    lead = Lead.objects.get(email="spaced@lead.example")
    assert (lead.first_name, lead.company_name, lead.phone) == (
        "\u2029Ada\u2029",
        " Engines\u00a0Ltd ",
        "+44 20 7946 0000",
    )
