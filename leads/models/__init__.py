from __future__ import annotations

from .activity import Activity, ActivityKind
from .api_tokens import APIScope, APIToken, APITokenKind
from .campaign import Campaign, CampaignKind
from .events import Event, EventStatus, EventType
from .imports import (
    DuplicatePolicy,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportRowError,
    ImportStatus,
    MappingPreset,
)
from .lead import Lead, SizeBand, SourceChannel, Timeframe
from .people import Profile, Team
from .queue import (
    AssignmentKind,
    AssignmentLog,
    AssignmentRule,
    DigestSent,
    Notification,
    Reminder,
    ReminderKind,
    RuleField,
    TeamRoundRobin,
)
from .stage_change import StageChange
from .system import Heartbeat
from .uld import RejectionReason, RoutingDecision, ULDSignOff, ULDStatus, ULDVersion
from .webhooks import DeliveryKind, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "APIScope",
    "APIToken",
    "APITokenKind",
    "AssignmentKind",
    "AssignmentLog",
    "AssignmentRule",
    "DigestSent",
    "Notification",
    "Reminder",
    "ReminderKind",
    "RuleField",
    "TeamRoundRobin",
    "Activity",
    "ActivityKind",
    "Campaign",
    "CampaignKind",
    "DeliveryKind",
    "DeliveryStatus",
    "DuplicatePolicy",
    "Event",
    "EventStatus",
    "EventType",
    "Heartbeat",
    "ImportChange",
    "ImportChangeAction",
    "ImportJob",
    "ImportRowError",
    "ImportStatus",
    "MappingPreset",
    "Lead",
    "Profile",
    "RejectionReason",
    "RoutingDecision",
    "SizeBand",
    "SourceChannel",
    "StageChange",
    "Team",
    "Timeframe",
    "ULDSignOff",
    "ULDStatus",
    "ULDVersion",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
