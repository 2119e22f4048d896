"""Behaviour events from integrations: store once per key, hand to Celery after commit, then process.

The request path only writes `Event` rows (the outbox) and, after commit, marks them `queued` and tries
once to publish their ids with short timeouts; a down or paused broker costs the request at most a few
seconds and leaves the events `received` for the re-drive. Processing claims each event with a
conditional update in the same transaction as its activity, so a redelivered or re-driven message
records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Activity, APIToken, Event, EventStatus, Lead
from leads.models.lead import normalise_email
from leads.selectors import lead_scope
from leads.services.activities import activities_record_many
from leads.services.broker import tasks_send_safely
from leads.services.lifecycle import lead_create

HANDOVER_CHUNK = 100

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventInput:
    """One validated event as the client sent it; `occurred_at` None means "when received"."""

    key: str
    type: str
    email: str | None = None
    lead_id: int | None = None
    occurred_at: dt.datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def body_hash(self) -> str:
        """Return the sha256 of the event's canonical JSON (sorted keys, UTC time, normalised email)."""
        occurred = self.occurred_at.astimezone(dt.UTC).isoformat() if self.occurred_at else None
        body = {
            "type": self.type,
            "email": normalise_email(self.email),
            "lead_id": self.lead_id,
            "occurred_at": occurred,
            "properties": self.properties,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class EventResult:
    index: int
    key: str
    uuid: uuid.UUID
    created: bool
    status: str


def event_scope(*, user, auth=None) -> str:
    """Return the idempotency scope of a caller: its API token if it used one, else its user.

    Per token, so two integrations that happen to use the same event ids never collide; per user for a
    browser session. A rotated token starts a new scope (retries of one delivery use one token).
    """
    if isinstance(auth, APIToken):
        return f"{auth._meta.label_lower}:{auth.pk}"
    return f"user:{user.pk}"


def events_record(*, scope: str, user, events: list[EventInput]) -> list[EventResult]:
    """Store each event once per (scope, key) and hand the new ones to Celery after commit.

    An event whose key is already stored with the same body is a replay (created=False); with another
    body the whole request is refused (code "conflict") and nothing is stored. Concurrent requests with
    one key store one row: the insert is ON CONFLICT DO NOTHING under the unique constraint, never a
    check-then-insert.
    """
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        earlier = first_index.setdefault(event.key, index)
        if earlier != index and events[earlier].body_hash != event.body_hash:
            raise ApplicationError(
                f"events[{index}]: the id {event.key!r} is also used by events[{earlier}] with a different body.",
                code="conflict",
                extra={"errors": {f"events[{index}]": ["Duplicate id with a different body."]}},
            )
    _check_leads_visible(user=user, events=events)

    now = timezone.now()
    unique = [events[index] for index in first_index.values()]
    rows = [
        Event(
            uuid=uuid.uuid4(),
            scope=scope,
            key=event.key,
            body_hash=event.body_hash,
            type=event.type,
            email=normalise_email(event.email),
            requested_lead_id=event.lead_id,
            occurred_at=event.occurred_at or now,
            properties=event.properties,
            submitted_by=user,
            received_at=now,
        )
        for event in unique
    ]
    mine = {row.uuid for row in rows}
    with transaction.atomic():
        Event.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        stored = {row.key: row for row in Event.objects.filter(scope=scope, key__in=list(first_index))}
        for index, event in enumerate(events):
            row = stored[event.key]
            if row.uuid not in mine and row.body_hash != event.body_hash:
                raise ApplicationError(
                    f"events[{index}]: the id {event.key!r} was already used for a different event "
                    f"(received {row.received_at:%Y-%m-%d %H:%M:%S} UTC). Send a new id for a new event; "
                    "resend the identical body to retry.",
                    code="conflict",
                    extra={"errors": {f"events[{index}]": ["This id was already used with a different body."]}},
                )
        new_ids = sorted(row.pk for row in stored.values() if row.uuid in mine)
        if new_ids:
            # robust: the events are committed, so nothing after this may turn the answer into an error.
            transaction.on_commit(lambda: events_hand_over(event_ids=new_ids), robust=True)
    results = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        row = stored[event.key]
        created = row.uuid in mine and event.key not in seen
        seen.add(event.key)
        results.append(EventResult(index=index, key=event.key, uuid=row.uuid, created=created, status=row.status))
    return results


def _check_leads_visible(*, user, events: list[EventInput]) -> None:
    wanted = {event.lead_id for event in events if event.lead_id is not None}
    if not wanted:
        return
    visible = set(lead_scope(user=user).filter(pk__in=wanted).values_list("pk", flat=True))
    errors = {
        f"events[{index}]": [f"No lead {event.lead_id} that you can see."]
        for index, event in enumerate(events)
        if event.lead_id is not None and event.lead_id not in visible
    }
    if errors:
        first = next(iter(errors))
        raise ApplicationError(f"{first}: {errors[first][0]}", extra={"errors": errors})


def events_hand_over(*, event_ids: list[int]) -> bool:
    """Mark the events queued, then publish their ids to Celery once, with short timeouts; never wait long.

    Call it outside a transaction (after commit, or from a task). The mark is committed before the
    message exists: a worker may run the message at once, and its claim skips locked rows
    (`events_process`), so a mark still in progress would leave the events `queued` and unprocessed
    until the re-drive's LEADOPS_EVENTS_REQUEUE_AFTER_SECONDS. Events already processed, or locked by a
    worker processing them now, are neither marked nor sent. If the broker does not take the message,
    the events are put back as they were and the re-drive (beat) sends them later (see
    `tasks_send_safely`). Return whether the broker took them (True when there was nothing to send).
    """
    from leads.tasks import events_process_task

    handed_at = timezone.now()
    marked = _events_mark_queued(event_ids=event_ids, handed_at=handed_at)
    ids = [pk for pk, _status, _handed_at in marked]
    if not ids:
        return True
    chunks = [ids[start : start + HANDOVER_CHUNK] for start in range(0, len(ids), HANDOVER_CHUNK)]
    if tasks_send_safely(task=events_process_task, calls=[(chunk,) for chunk in chunks]):
        return True
    _events_unmark_queued(marked=marked, handed_at=handed_at)
    return False


@transaction.atomic
def _events_mark_queued(*, event_ids: list[int], handed_at: dt.datetime) -> list[tuple[int, str, dt.datetime | None]]:
    """Mark the pending events among `event_ids` queued; return each one's (pk, status, handed_at) before."""
    before = list(
        Event.objects.select_for_update(skip_locked=True)
        .filter(pk__in=event_ids, status__in=[EventStatus.RECEIVED, EventStatus.QUEUED])
        .order_by("pk")
        .values_list("pk", "status", "handed_at")
    )
    Event.objects.filter(pk__in=[pk for pk, _status, _handed_at in before]).update(
        status=EventStatus.QUEUED, handed_at=handed_at, attempts=F("attempts") + 1
    )
    return before


def _events_unmark_queued(*, marked: list[tuple[int, str, dt.datetime | None]], handed_at: dt.datetime) -> None:
    """Put events whose message the broker did not take back as they were, in one statement.

    Only successful hand-overs count (`attempts`), and a `received` event stays `received`. An event that
    a worker processed meanwhile (a frozen broker may deliver the message after all) is left alone.
    """
    received = [pk for pk, status, _previous in marked if status == EventStatus.RECEIVED]
    handed_before: dict[dt.datetime, list[int]] = {}
    for pk, _status, previous in marked:
        if previous is not None:
            handed_before.setdefault(previous, []).append(pk)
    Event.objects.filter(
        pk__in=[pk for pk, _status, _previous in marked], status=EventStatus.QUEUED, handed_at=handed_at
    ).update(
        status=Case(When(pk__in=received, then=Value(EventStatus.RECEIVED)), default=Value(EventStatus.QUEUED)),
        handed_at=Case(
            *(When(pk__in=pks, then=Value(previous)) for previous, pks in handed_before.items()),
            default=Value(None),
            output_field=DateTimeField(),
        ),
        attempts=F("attempts") - 1,
    )


def events_redrive(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Hand over events stuck before processing; give up on those handed over too often. Return how many.

    Picks events `received` (never handed over) for LEADOPS_EVENTS_REDRIVE_AFTER_SECONDS and events
    `queued` whose message has not run for LEADOPS_EVENTS_REQUEUE_AFTER_SECONDS (a broker restart may
    lose messages). Processing is idempotent, so a message that was only slow costs a no-op.
    """
    now = now or timezone.now()
    max_handovers = settings.LEADOPS_EVENTS_MAX_HANDOVERS
    unsent_since = now - dt.timedelta(seconds=settings.LEADOPS_EVENTS_REDRIVE_AFTER_SECONDS)
    unrun_since = now - dt.timedelta(seconds=settings.LEADOPS_EVENTS_REQUEUE_AFTER_SECONDS)
    stale = Q(status=EventStatus.RECEIVED, received_at__lte=unsent_since) | Q(
        status=EventStatus.QUEUED, handed_at__lte=unrun_since
    )
    # Only successful hand-overs count, so a long broker outage never makes an event give up.
    Event.objects.filter(stale, attempts__gte=max_handovers).update(
        status=EventStatus.FAILED, error=f"Not processed after {max_handovers} hand-overs to the worker."
    )
    ids = list(Event.objects.filter(stale).order_by("received_at", "pk").values_list("pk", flat=True)[:limit])
    if ids:
        events_hand_over(event_ids=ids)
    return len(ids)


def events_process(*, event_ids: list[int]) -> int:
    """Record each event as an activity on its lead, once; return how many this call processed.

    The events are processed together, set-based, in one transaction: claim the unprocessed ones
    (`FOR UPDATE SKIP LOCKED`, so a concurrent run of the same ids takes none of them), find their leads
    in one query, create the inquiries for unknown e-mails, insert the activities in one statement and
    mark the events in another. A refusal (the named lead is gone or not visible to the sender) marks
    that event failed with the reason and lets the others through. If the batch fails for any other
    reason it is rolled back and each event is retried in its own transaction, so one bad event never
    holds back the rest.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return 0
    try:
        return _events_process_batch(event_ids=ids)
    except Exception:
        logger.warning("events batch of %s failed; processing them one by one", len(ids), exc_info=True)
    done = 0
    for event_id in ids:
        try:
            done += _events_process_batch(event_ids=[event_id])
        except ApplicationError as exc:
            Event.objects.filter(pk=event_id).exclude(status=EventStatus.PROCESSED).update(
                status=EventStatus.FAILED, error=exc.message, processed_at=timezone.now()
            )
    return done


@transaction.atomic
def _events_process_batch(*, event_ids: list[int]) -> int:
    now = timezone.now()
    events = list(
        Event.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("submitted_by")
        .filter(pk__in=event_ids, status__in=[EventStatus.RECEIVED, EventStatus.QUEUED])
        .order_by("pk")
    )
    if not events:
        return 0
    lead_ids, refusals = _events_leads(events=events)
    activities = activities_record_many(
        activities=[
            Activity(
                lead_id=lead_ids[event.pk],
                kind=event.type,
                recorded_by=None,
                source="api",
                occurred_at=event.occurred_at,
                payload=event_activity_payload(event),
            )
            for event in events
            if event.pk in lead_ids
        ]
    )
    by_event = dict(zip([event.pk for event in events if event.pk in lead_ids], activities, strict=True))
    for event in events:
        event.processed_at = now
        if event.pk in by_event:
            event.status, event.error = EventStatus.PROCESSED, ""
            event.lead_id, event.activity_id = lead_ids[event.pk], by_event[event.pk].pk
        else:
            event.status, event.error = EventStatus.FAILED, refusals[event.pk]
    Event.objects.bulk_update(events, ["status", "error", "processed_at", "lead", "activity"], batch_size=500)
    return len(by_event)


def event_activity_payload(event: Event) -> dict[str, Any]:
    """Return the payload of an event's activity: its properties at the top level, then the event's ids.

    An activity's payload is flat for every writer (imports, nurture, the API), since scoring rules look
    their payload key up at the top level. `event` and `id` name the event and win over properties of
    those names; the event row keeps its properties whole.
    """
    return {**event.properties, "event": str(event.uuid), "id": event.key}


def _events_leads(*, events: list[Event]) -> tuple[dict[int, int], dict[int, str]]:
    """Return each event's lead id, and the refusal of each event that has none.

    A named lead must be visible to the sender (one query per sender); an e-mail is looked up in one
    query for the batch, and each unknown address becomes one inquiry, made by its first event.
    """
    lead_ids: dict[int, int] = {}
    refusals: dict[int, str] = {}
    named: dict[int | None, list[Event]] = {}
    for event in events:
        if event.requested_lead_id is not None:
            named.setdefault(event.submitted_by_id, []).append(event)
    for sender_events in named.values():
        sender = sender_events[0].submitted_by
        wanted = {event.requested_lead_id for event in sender_events}
        visible = set(lead_scope(user=sender).filter(pk__in=wanted).values_list("pk", flat=True)) if sender else set()
        for event in sender_events:
            if event.requested_lead_id in visible:
                lead_ids[event.pk] = event.requested_lead_id
            else:
                refusals[event.pk] = f"No lead {event.requested_lead_id} that the sender can see."
    by_email = [event for event in events if event.requested_lead_id is None]
    known = dict(Lead.objects.filter(email__in={event.email for event in by_email}).values_list("email", "pk"))
    for event in by_email:
        if event.email not in known:
            known[event.email] = _inquiry_create(event=event).pk
        lead_ids[event.pk] = known[event.email]
    return lead_ids, refusals


def _inquiry_create(*, event: Event) -> Lead:
    """Create the inquiry for an event's unknown e-mail, with the person's details from its properties."""
    try:
        return lead_create(
            by=event.submitted_by,
            stage=Stage.INQUIRY,
            email=event.email,
            reason=f"Behaviour event ({event.type})",
            **_person_fields(event.properties),
        )
    except ApplicationError as exc:
        if exc.code != "duplicate":
            raise
        # Another transaction created a lead with this address since the batch looked it up.
        return Lead.objects.get(email=event.email)


# Properties a form fill usually carries, copied onto a new inquiry: (property, field, max length).
PERSON_PROPERTIES = (
    ("first_name", "first_name", 150),
    ("last_name", "last_name", 150),
    ("company", "company_name", 200),
    ("title", "title", 200),
    ("phone", "phone", 64),
)


# Only the phone is trimmed, as the import and the API trim it; other text is kept exactly as sent (the API
# refuses a value longer than its field, so nothing is cut here).
TRIMMED_PERSON_PROPERTIES = frozenset({"phone"})


def _person_fields(properties: dict[str, Any]) -> dict[str, str]:
    fields = {}
    for key, name, limit in PERSON_PROPERTIES:
        value = properties.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        if key in TRIMMED_PERSON_PROPERTIES:
            value = value.strip()
        if len(value) <= limit:
            fields[name] = value
    return fields
