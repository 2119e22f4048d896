"""Using the shared cache (Redis) without letting its outage reach the user.

Nothing leadops keeps in the cache is needed to answer a request: throttle counters (a request is let
through) and lookups that the database can answer. So every cache call goes through `cache_try`, which
returns a default instead of raising. After a failure the cache is skipped in this process for
CACHE_RETRY_AFTER_SECONDS: with Redis frozen each call would otherwise wait out the socket timeout
(`LEADOPS_REDIS_CACHE_OPTIONS`), and the log would get a line per request instead of one per pause.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

CACHE_RETRY_AFTER_SECONDS = 5.0

T = TypeVar("T")

# time.monotonic() until which the cache is skipped; one float shared by the threads of a process.
_skip_until = 0.0


def cache_try(call: Callable[[], T], *, default: T, what: str) -> T:
    """Return `call()`, or `default` when the cache fails (logged) or failed in the last few seconds."""
    global _skip_until
    if time.monotonic() < _skip_until:
        return default
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - whatever the cache backend raises, the request goes on without it
        _skip_until = time.monotonic() + CACHE_RETRY_AFTER_SECONDS
        logger.warning(
            "cache unavailable for %s (%s: %s); going on without it for %.0f s.",
            what,
            type(exc).__name__,
            exc,
            CACHE_RETRY_AFTER_SECONDS,
        )
        return default


def cache_failures_forget() -> None:
    """Use the cache again at once (tests, after they bring Redis back)."""
    global _skip_until
    _skip_until = 0.0
