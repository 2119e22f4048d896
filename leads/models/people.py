from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models


class Team(models.Model):
    """A sales team: the unit of assignment, working hours and SLA clocks."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    workday_start = models.TimeField(default=dt.time(9, 0))
    workday_end = models.TimeField(default=dt.time(17, 0))
    # ISO weekday numbers (Monday=1) of working days, e.g. "12345".
    workdays = models.CharField(max_length=7, default="12345")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(workday_end__gt=models.F("workday_start")), name="team_workday_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """What assignment needs to know about a user: team, manager, territory, capacity, availability."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    # Comma-separated countries or regions this person covers; empty means no territory rule.
    territory = models.CharField(max_length=255, blank=True)
    capacity = models.PositiveIntegerField(default=200, help_text="Most open leads this person should hold.")
    is_available = models.BooleanField(default=True, help_text="Off while away; assignment skips them.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(manager=models.F("user")), name="profile_not_own_manager"),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"
