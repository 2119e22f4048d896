"""POST /api/events/: validation messages per event, replays, conflicts, who may send, the schema."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from leads.api_events import EventsAPIView
from leads.models import Event
from leads.services import events as events_service
from tests.factories import LeadFactory, UserFactory

URL = "/api/events/"


@pytest.fixture
def handovers(monkeypatch):
    calls: list[list[int]] = []
    monkeypatch.setattr(events_service, "events_hand_over", lambda *, event_ids: calls.append(event_ids) or True)
    return calls


@pytest.fixture
def api(client, marketer, handovers):
    client.force_login(marketer)
    return client


def post(client, body, **headers):
    import json

    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def test_the_events_url_is_mounted_before_the_api_root():
    assert reverse("events:create") == URL


def test_the_view_declares_the_events_write_scope():
    assert EventsAPIView.required_scopes == {"events:write"}


def test_one_event_is_accepted_then_replayed(api, handovers, django_capture_on_commit_callbacks):
    event = {"id": "v-1", "type": "web_visit", "email": "Someone@Example.com", "properties": {"url": "/pricing"}}
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, event)
    assert first.status_code == 202, first.content
    body = first.json()
    assert (body["created"], body["replayed"]) == (1, 0)
    assert body["events"][0]["id"] == "v-1" and body["events"][0]["created"] is True
    assert handovers == [[Event.objects.get().pk]]

    again = post(api, event)
    assert again.status_code == 200
    assert again.json()["events"][0]["event"] == body["events"][0]["event"]
    assert again.json()["replayed"] == 1
    assert Event.objects.count() == 1


def test_a_batch_stores_every_event_in_one_request(api):
    lead = LeadFactory()
    events = [
        {"id": "b-1", "type": "form_fill", "email": "one@example.com"},
        {"id": "b-2", "type": "webinar", "lead_id": lead.pk, "occurred_at": "2026-01-05T10:00:00Z"},
        {"id": "b-3", "type": "download", "email": "three@example.com", "properties": {"asset": "guide.pdf"}},
    ]
    response = post(api, {"events": events})
    assert response.status_code == 202
    assert [e["index"] for e in response.json()["events"]] == [0, 1, 2]
    stored = Event.objects.get(key="b-2")
    assert stored.requested_lead_id == lead.pk
    assert stored.occurred_at == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)


def test_an_idempotency_key_names_a_single_event_sent_without_an_id(api):
    event = {"type": "email_click", "email": "clicker@example.com"}
    assert post(api, event, **{"Idempotency-Key": "click-77"}).status_code == 202
    assert post(api, event, **{"Idempotency-Key": "click-77"}).status_code == 200
    assert list(Event.objects.values_list("key", flat=True)) == ["click-77"]


def test_an_idempotency_key_on_a_batch_names_its_events_by_index(api):
    events = [{"type": "web_visit", "email": "a@example.com"}, {"type": "web_visit", "email": "b@example.com"}]
    assert post(api, {"events": events}, **{"Idempotency-Key": "batch-9"}).status_code == 202
    assert sorted(Event.objects.values_list("key", flat=True)) == ["batch-9:0", "batch-9:1"]


def test_the_same_id_with_a_different_body_is_refused_with_409(api):
    post(api, {"id": "x-1", "type": "web_visit", "email": "a@example.com"})
    response = post(api, {"id": "x-1", "type": "download", "email": "a@example.com"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert "already used for a different event" in body["detail"]
    assert "events[0]" in body["errors"]
    assert Event.objects.get().type == "web_visit"


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"id": "1", "type": "phone_call", "email": "a@example.com"}, "type", 'Unknown type "phone_call"'),
        ({"id": "1", "type": "web_visit"}, "non_field_errors", "Give the person's email or a lead_id."),
        ({"id": "1", "type": "web_visit", "email": "not-an-email"}, "email", "valid email"),
        ({"id": "1", "type": "web_visit", "email": "a@example.com", "occurred_at": "2999-01-01T00:00:00Z"},
         "occurred_at", "in the future"),
        ({"id": "1", "type": "web_visit", "email": "a@example.com", "occurred_at": "yesterday"},
         "occurred_at", "wrong format"),
        ({"id": "1", "type": "web_visit", "email": "a@example.com", "emial": "x"}, "non_field_errors",
         "Unknown field(s): emial"),
        ({"type": "web_visit", "email": "a@example.com"}, "id", "Give each event an id"),
        ({"id": "1", "type": "web_visit", "email": "a@example.com", "properties": "x"}, "properties", "dictionary"),
        ({"id": "1", "type": "web_visit", "lead_id": "seven"}, "lead_id", "valid integer"),
    ],
)  # fmt: skip
def test_an_invalid_event_gets_a_400_naming_its_index_and_field(api, event, field, message):
    response = post(api, {"events": [{"id": "ok", "type": "web_visit", "email": "ok@example.com"}, event]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert "events[1]" in body["detail"] and "nothing was stored" in body["detail"]
    assert list(body["errors"]) == ["events[1]"]
    assert message in " ".join(map(str, body["errors"]["events[1]"][field]))
    assert not Event.objects.exists()


def test_a_lead_id_that_does_not_exist_is_a_400(api):
    response = post(api, {"id": "1", "type": "webinar", "lead_id": 987654})
    assert response.status_code == 400
    assert response.json()["errors"] == {"events[0]": ["No lead 987654 that you can see."]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON parse error"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ('{"events": []}', "non-empty list"),
        ('{"events": {"id": 1}}', "non-empty list"),
        ('{"events": [], "extra": 1}', "non-empty list"),
        ('{"events": [1]}', "An event must be a JSON object"),
    ],
)
def test_a_body_of_the_wrong_shape_is_a_400_with_a_message(api, body, message):
    response = post(api, body)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("depth", [100, 1000])
def test_deeply_nested_event_properties_are_refused_with_400(api, depth):
    properties = '{"a":' * depth + "1" + "}" * depth
    body = '{"id": "deep", "type": "web_visit", "email": "a@example.com", "properties": ' + properties + "}"
    response = post(api, body)
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"note": "a\u0000b"}, "NUL character"),
        ({"a\u0000b": 1}, "NUL character"),
        ({"note": "\ud800"}, "unpaired surrogate"),
        ({"list": [{"deep": ["ok", "\udfff"]}]}, "unpaired surrogate"),
        ({"\ud800": 1}, "unpaired surrogate"),
    ],
)
def test_event_properties_with_a_nul_or_a_lone_surrogate_are_refused_naming_the_event(api, properties, message):
    ok = {"id": "ok", "type": "web_visit", "email": "ok@example.com", "properties": {"emoji": "\U0001f600"}}
    bad = {"id": "bad", "type": "web_visit", "email": "a@example.com", "properties": properties}
    response = post(api, {"events": [ok, bad]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert "events[1].properties" in body["detail"] and "nothing was stored" in body["detail"]
    assert message in " ".join(body["errors"]["events[1]"]["properties"])
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "1", "type": "\ud800", "email": "a@example.com"}, "type"),
        ({"id": "1", "type": "web_visit", "email": "a@example.com", "\ud800": 1}, "non_field_errors"),
    ],
)
def test_a_lone_surrogate_echoed_in_an_error_message_is_a_400_not_a_500(api, event, field):
    response = post(api, event)
    assert response.status_code == 400
    assert "\\ud800" in response.content.decode()  # escaped in the JSON, not raw
    assert field in response.json()["errors"]["events[0]"]


def test_a_batch_over_500_events_is_refused(api):
    events = [{"id": str(i), "type": "web_visit", "email": f"p{i}@example.com"} for i in range(501)]
    response = post(api, {"events": events})
    assert response.status_code == 400
    assert "at most 500 events; this one has 501" in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_too_long_idempotency_key_is_refused(api):
    response = post(api, {"type": "web_visit", "email": "a@example.com"}, **{"Idempotency-Key": "k" * 151})
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_a_form_post_is_refused_as_unsupported(api):
    response = api.post(URL, {"type": "web_visit"})
    assert response.status_code == 415


@pytest.mark.parametrize("who", ["alice", "manager", "executive"])
def test_only_marketing_and_admins_may_send_events(client, request, who, handovers):
    client.force_login(request.getfixturevalue(who))
    response = post(client, {"id": "1", "type": "web_visit", "email": "a@example.com"})
    assert response.status_code == 403
    assert "marketing integrations" in response.json()["detail"]
    assert not Event.objects.exists()


def test_an_anonymous_caller_is_refused(client, db):
    response = post(client, {"id": "1", "type": "web_visit", "email": "a@example.com"})
    assert response.status_code in {401, 403}


def test_an_admin_may_send_events(client, admin_user, handovers):
    client.force_login(admin_user)
    assert post(client, {"id": "1", "type": "web_visit", "email": "a@example.com"}).status_code == 202


def test_the_schema_describes_the_events_endpoint_and_is_valid(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    operation = schema["paths"][URL]["post"]
    assert operation["operationId"] == "events_create"
    assert {"200", "202", "400", "409"} <= set(operation["responses"])
    assert "EventsRequest" in schema["components"]["schemas"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Real concurrent transactions need PostgreSQL.")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_event_id_store_one_event(handovers):
    sender = UserFactory(username="integration", is_superuser=True)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        try:
            client = Client()
            client.force_login(sender)
            barrier.wait()
            statuses.append(post(client, {"id": "same", "type": "web_visit", "email": "a@example.com"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * 5 + [202]
    assert Event.objects.filter(key="same").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hand_over_that_raises_after_commit_still_answers_202(client, monkeypatch):
    def broken(*, event_ids):
        raise RuntimeError("the database went away after the commit")

    monkeypatch.setattr(events_service, "events_hand_over", broken)
    client.force_login(UserFactory(username="integration", is_superuser=True))
    response = post(client, {"id": "after-commit", "type": "web_visit", "email": "a@example.com"})
    assert response.status_code == 202
    assert Event.objects.get().status == "received"


def test_an_event_person_property_longer_than_the_lead_field_is_refused_not_cut(api):
    event = {"id": "long", "type": "form_fill", "email": "long@example.com", "properties": {"first_name": "A" * 151}}
    response = post(api, {"events": [event]})
    assert response.status_code == 400, response.content
    assert "properties.first_name is 151 characters" in " ".join(response.json()["errors"]["events[0]"]["properties"])
    assert not Event.objects.exists()
