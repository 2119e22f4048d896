from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """When a background component (worker, beat) was last seen alive."""

    name = models.CharField(max_length=32, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
