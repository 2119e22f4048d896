"""Per-token request rate limits. Session (browser) requests are not throttled here."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from leads.models import APIToken


class APITokenRateThrottle(SimpleRateThrottle):
    """Limit each token to the rate named by the `token` scope (integration tokens by `integration`).

    The rate is read per request rather than at import (as DRF's default does), so settings overrides apply.
    """

    scope = "token"

    def __init__(self) -> None:  # DRF's reads the rate at construction; we read it in allow_request
        pass

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, APIToken):
            return True
        self.scope = "integration" if token.kind == "integration" else "token"
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": "api-token", "ident": request.auth.pk}
