"""Per-token request rate limits. Session (browser) requests are not throttled here.

Written by hand rather than DRF's `SimpleRateThrottle`: that one keeps every request's timestamp of the
last period in one cache entry and reads and rewrites the whole list on every request, so at an
integration's 15,000/min each request moved ~120 KB through Redis. This is the sliding-window counter
(two fixed-window counters, the previous one weighted by how much of it still lies in the window): two
cache round trips and a few bytes per request, whatever the rate. Without the cache (Redis stopped or
frozen) requests are let through rather than refused: the limit protects the service, and refusing every
token request during a cache outage would be the outage it protects against.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from leadops.cache import cache_try
from leads.models import APIToken


class APITokenRateThrottle(BaseThrottle):
    """Limit each token to the rate named by the `token` scope (integration tokens by `integration`).

    The rate is read per request, so settings overrides apply. A refused request is not counted, so a
    client that keeps retrying is not locked out for longer than the rate says.
    """

    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, APIToken):
            return True
        scope = "integration" if token.kind == "integration" else "token"
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        limit, duration = parse_rate(rate)
        now = self.timer()
        window = int(now // duration)
        elapsed = now - window * duration
        key = f"throttle:api-token:{token.pk}:{duration}:{{}}"
        # Fail open: without the cache (Redis stopped or frozen) the request goes through uncounted.
        counts = cache_try(
            lambda: self._count(key=key, window=window, duration=duration), default=None, what="the API throttle"
        )
        if counts is None:
            return True
        current, previous = counts
        weight = 1 - elapsed / duration
        if previous * weight + current <= limit:
            return True
        cache_try(lambda: cache.decr(key.format(window)), default=None, what="the API throttle")
        self._wait = _wait_seconds(limit=limit, duration=duration, elapsed=elapsed, previous=previous, current=current)
        return False

    @staticmethod
    def _count(*, key: str, window: int, duration: int) -> tuple[int, int]:
        """Count this request in its window; return (this window's count, the previous window's)."""
        cache.add(key.format(window), 0, timeout=2 * duration + 1)
        return cache.incr(key.format(window)), cache.get(key.format(window - 1), 0)

    def wait(self) -> float | None:
        return self._wait


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, seconds) of a DRF rate such as "3000/min" or "10/s"."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def _wait_seconds(*, limit: int, duration: int, elapsed: float, previous: int, current: int) -> float:
    """Seconds until one more request fits: until the previous window's share has faded enough."""
    if current > limit or previous == 0:
        return max(duration - elapsed, 1.0)
    # previous * (1 - t / duration) + current <= limit, with t the elapsed time then.
    fits_at = (1 - (limit - current) / previous) * duration
    return max(math.ceil(fits_at - elapsed), 1.0)
