from __future__ import annotations

from .activity import Activity, ActivityKind
from .campaign import Campaign, CampaignKind
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

__all__ = [
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
    "Heartbeat",
    "Lead",
    "Profile",
    "SizeBand",
    "SourceChannel",
    "StageChange",
    "Team",
    "Timeframe",
]
