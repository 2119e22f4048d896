from __future__ import annotations

import pytest

from leads.selectors_uld import uld_active
from leads.services.uld import uld_draft_create


@pytest.fixture
def active_uld(db):
    """The default definition seeded by the migration."""
    return uld_active()


@pytest.fixture
def draft(marketer, active_uld):
    return uld_draft_create(by=marketer)
