"""Publishing to Celery from a web request without letting a broker outage reach the user."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings

logger = logging.getLogger(__name__)


def tasks_send_safely(*, task, calls: Iterable[Sequence], timeout: float | None = None) -> bool:
    """Send `task` once per argument tuple in `calls` over one connection; return whether all were sent.

    Never raises and never waits long: the connection gets `timeout` seconds (default
    LEADOPS_EVENTS_HANDOVER_TIMEOUT) as connect, socket and retry budget, and publishing does not retry.
    A stopped Redis refuses at once, a paused one times out. Use it only for work that something else
    (a beat task reading the database) picks up when the send fails.
    """
    timeout = settings.LEADOPS_EVENTS_HANDOVER_TIMEOUT if timeout is None else timeout
    options = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "max_retries": 0,
        "connect_retries_timeout": timeout,
    }
    try:
        with task.app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
            for args in calls:
                task.apply_async(args=list(args), connection=conn, retry=False)
    except Exception as exc:  # noqa: BLE001 - whatever the broker did, the caller's data is already stored
        logger.warning(
            "%s not sent to the broker (%s: %s); a periodic job will pick it up.", task.name, type(exc).__name__, exc
        )
        return False
    return True
