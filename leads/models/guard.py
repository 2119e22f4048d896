"""Guards that keep two invariants in code paths the database cannot see.

- A lead's `stage` changes only through the lifecycle service, which writes a `StageChange` row for it.
- Activities and stage changes are append-only.

The lifecycle service opens `stage_writes_allowed()`; any other save/update/bulk write that touches
`stage` raises `StageWriteRefused`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("leadops_stage_writes_allowed", default=False)


class StageWriteRefused(RuntimeError):
    """A lead's stage was written outside `leads.services.lifecycle`."""


class AppendOnlyViolation(RuntimeError):
    """An append-only row was changed after it was written."""


@contextlib.contextmanager
def stage_writes_allowed() -> Iterator[None]:
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def check_stage_write(what: str) -> None:
    if not _allowed.get():
        raise StageWriteRefused(
            f"{what} would change a lead's stage without the lifecycle service; "
            "use leads.services.lifecycle.lead_stage_change so the change is logged."
        )
