"""POST /api/events/: behaviour events from integrations, one or a batch, idempotent by event id."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leadops.errors import ApplicationError
from leads.api.parsers import JSONParser
from leads.models import EventType
from leads.roles import Role, has_role, is_admin
from leads.services.events import PERSON_PROPERTIES, EventInput, event_scope, events_record

EVENT_FIELDS = {"id", "type", "email", "lead_id", "occurred_at", "properties"}
KNOWN_FIELDS = ", ".join(sorted(EVENT_FIELDS))
MAX_PROPERTIES_BYTES = 16 * 1024
TYPES = ", ".join(EventType.values)


class CanSendEvents(permissions.BasePermission):
    message = "Behaviour events are sent by marketing integrations (a Marketing or admin user's token)."

    def has_permission(self, request, view) -> bool:
        return bool(is_admin(request.user) or has_role(request.user, Role.MARKETING))


# PostgreSQL's jsonb cannot hold U+0000, and UTF-8 cannot encode a surrogate that is not half of a pair
# (JSON's "\\ud800" escape parses to one): both would fail when stored, so they are refused up front.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: Any, *, name: str) -> str | None:
    """Return why a string (key or value) inside `value` cannot be stored, naming where it is; else None."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (problem := _string_problem(key)):
                    return f"{_where(name, (*path, key))} (the key) {problem}"
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
        elif isinstance(item, str) and (problem := _string_problem(item)):
            return f"{_where(name, path)} {problem}"
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which cannot be stored; remove it."
    found = _SURROGATE.search(text)
    if found:
        return (
            f"holds an unpaired surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode text; "
            "send the character it was meant to be."
        )
    return None


def _where(name: str, path: tuple) -> str:
    # Keys are written as JSON strings, escaped: a raw surrogate in the message would break the response.
    return name + "".join(f"[{json.dumps(step) if isinstance(step, str) else step}]" for step in path)


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Your id for this event; resending it is safe. Optional for one event sent with Idempotency-Key.",
    )
    type = serializers.ChoiceField(
        choices=EventType.choices, error_messages={"invalid_choice": f'Unknown type "{{input}}"; use one of {TYPES}.'}
    )
    email = serializers.EmailField(
        required=False, max_length=254, help_text="The person; unknown ones become inquiries."
    )
    lead_id = serializers.IntegerField(required=False, min_value=1, help_text="Or the lead's id (one you can see).")
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601; default: when received.")
    properties = serializers.DictField(required=False, default=dict, help_text="Free-form details (at most 16 KiB).")

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["An event must be a JSON object."]})
        unknown = sorted(set(data) - EVENT_FIELDS)
        if unknown:
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        f"Unknown field(s): {', '.join(unknown)}. Known: {', '.join(sorted(EVENT_FIELDS))}."
                    ]
                }
            )
        return super().to_internal_value(data)

    def validate_occurred_at(self, value: dt.datetime) -> dt.datetime:
        limit = timezone.now() + dt.timedelta(seconds=settings.LEADOPS_EVENTS_MAX_FUTURE_SECONDS)
        if value > limit:
            raise serializers.ValidationError("occurred_at is in the future; send when it happened.")
        return value

    def validate_properties(self, value: dict) -> dict:
        problem = text_problem(value, name="properties")
        if problem:
            raise serializers.ValidationError(problem)
        if len(json.dumps(value, default=str)) > MAX_PROPERTIES_BYTES:
            raise serializers.ValidationError("properties is larger than 16 KiB.")
        for key, _field, limit in PERSON_PROPERTIES:
            if isinstance(value.get(key), str) and len(value[key]) > limit:
                raise serializers.ValidationError(
                    f"properties.{key} is {len(value[key])} characters; a new lead's {key} holds at most {limit}."
                )
        return value

    def validate(self, data: dict) -> dict:
        if not data.get("email") and not data.get("lead_id"):
            raise serializers.ValidationError("Give the person's email or a lead_id.")
        return data


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, help_text="At most 500 events.")


class EventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.CharField(help_text="The idempotency key the event is stored under.")
    event = serializers.UUIDField(help_text="leadops' id of the stored event.")
    created = serializers.BooleanField(help_text="False when this is a replay of an event already stored.")
    status = serializers.CharField(help_text="received, queued, processed or failed.")


class EventsResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    events = EventResultSerializer(many=True)


class EventsErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = serializers.DictField(required=False, help_text='Messages by event, e.g. {"events[3]": {...}}.')


def _error(detail: str, *, code: str = "invalid", errors: dict | None = None, http=status.HTTP_400_BAD_REQUEST):
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return Response(body, status=http)


def parse_events(body: Any, *, idempotency_key: str) -> tuple[list[EventInput] | None, Response | None]:
    """Validate the request body into events, or return the 400 response that says what is wrong."""
    limit = settings.LEADOPS_EVENTS_BATCH_MAX
    if not isinstance(body, dict):
        return None, _error('The body must be a JSON object: one event, or {"events": [...]}.')
    batch = "events" in body
    if batch:
        items = body["events"]
        if not isinstance(items, list) or not items:
            return None, _error('"events" must be a non-empty list of event objects.')
        if len(items) > limit:
            return None, _error(f"A batch holds at most {limit} events; this one has {len(items)}. Split it.")
        if set(body) - {"events"}:
            return None, _error('A batch body holds only "events".')
    else:
        items = [body]
    # One list serializer, not one serializer per event: DRF copies a serializer's fields per instance,
    # which cost more than the validation itself in a batch. Its errors come by index (a dict of the
    # invalid ones in DRF 3.16, a list with {} for the valid ones before).
    serializer = EventSerializer(data=items, many=True)
    valid = serializer.is_valid()
    found = {} if valid else serializer.errors
    item_errors = dict(enumerate(found)) if isinstance(found, list) else dict(found)
    validated = iter(serializer.validated_data if valid else [])
    errors: dict[str, Any] = {}
    events: list[EventInput] = []
    for index, item in enumerate(items):
        if item_errors.get(index):
            errors[f"events[{index}]"] = item_errors[index]
            continue
        data = next(validated, item)  # after an error elsewhere, only the raw id is looked at
        key = data.get("id") or (f"{idempotency_key}:{index}" if batch and idempotency_key else idempotency_key)
        if not key:
            errors[f"events[{index}]"] = {"id": ["Give each event an id (or send one event with an Idempotency-Key)."]}
            continue
        if valid:
            events.append(
                EventInput(
                    key=key,
                    type=data["type"],
                    email=data.get("email"),
                    lead_id=data.get("lead_id"),
                    occurred_at=data.get("occurred_at"),
                    properties=data.get("properties") or {},
                )
            )
    if errors:
        first = next(iter(errors))
        # Name the field too (events[3].properties) when the first invalid event says which one is wrong.
        field = next((name for name in errors[first] if name != "non_field_errors"), None)
        if isinstance(errors[first], dict) and field:
            first = f"{first}.{field}"
        return None, _error(f"{len(errors)} event(s) are invalid, first {first}; nothing was stored.", errors=errors)
    return events, None


class EventsAPIView(APIView):
    """Record behaviour events; each is stored once per id and processed in the background."""

    required_scopes = {"events:write"}
    parser_classes = [JSONParser]

    def get_permissions(self):
        # The defaults from settings (authentication, token scopes) plus who may send events at all.
        return [*super().get_permissions(), CanSendEvents()]

    @extend_schema(
        operation_id="events_create",
        summary="Record behaviour events (one, or a batch of up to 500)",
        request=PolymorphicProxySerializer(
            component_name="Events",
            serializers=[EventSerializer, EventBatchSerializer],
            resource_type_field_name=None,
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Key of a single event sent without an id; in a batch, events without an id get "
                "<key>:<index>.",
            )
        ],
        responses={
            202: OpenApiResponse(EventsResponseSerializer, description="Stored; at least one event is new."),
            200: OpenApiResponse(EventsResponseSerializer, description="Every event was already stored (a replay)."),
            400: OpenApiResponse(EventsErrorSerializer, description="Invalid events; nothing was stored."),
            409: OpenApiResponse(EventsErrorSerializer, description="An id already used with a different body."),
        },
    )
    def post(self, request: Request) -> Response:
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 150:
            return _error("The Idempotency-Key header is longer than 150 characters.")
        events, problem = parse_events(request.data, idempotency_key=key)
        if problem is not None:
            return problem
        try:
            results = events_record(
                scope=event_scope(user=request.user, auth=request.auth), user=request.user, events=events
            )
        except ApplicationError as exc:
            code = status.HTTP_409_CONFLICT if exc.code == "conflict" else status.HTTP_400_BAD_REQUEST
            return _error(exc.message, code=exc.code, errors=exc.extra.get("errors"), http=code)
        created = sum(result.created for result in results)
        body = {
            "created": created,
            "replayed": len(results) - created,
            "events": [
                {"index": r.index, "id": r.key, "event": str(r.uuid), "created": r.created, "status": r.status}
                for r in results
            ],
        }
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)
