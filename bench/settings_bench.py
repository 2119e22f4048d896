"""Settings for the queue benchmark's server: the local settings without debug, plus server timing."""

from __future__ import annotations

from leadops.settings.local import *  # noqa: F403
from leadops.settings.local import MIDDLEWARE

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls_bench"
MIDDLEWARE = ["bench.server_timing.server_timing", *MIDDLEWARE]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
