from __future__ import annotations

from .activity import Activity, ActivityKind
from .campaign import Campaign, CampaignKind
from .lead import Lead, SizeBand, SourceChannel, Timeframe
from .people import Profile, Team
from .stage_change import StageChange
from .system import Heartbeat
from .uld import RejectionReason, RoutingDecision, ULDSignOff, ULDStatus, ULDVersion

__all__ = [
    "Activity",
    "ActivityKind",
    "Campaign",
    "CampaignKind",
    "Heartbeat",
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
]
