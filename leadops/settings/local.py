"""Developer machine: `make run`. Debug on, an insecure key only when none is given."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import SECRET_KEY as _SECRET_KEY
from .base import VAR_DIR, env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = _SECRET_KEY or "local-only-insecure-key-do-not-use-in-production"

# The default SQLite file lives in var/, and SQLite will not create the folder for its file.
VAR_DIR.mkdir(parents=True, exist_ok=True)

# A webhook receiver on this machine (http://127.0.0.1:...) is the usual local test.
LEADOPS_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADOPS_WEBHOOK_ALLOW_PRIVATE", True)
