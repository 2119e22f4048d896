"""Helpers shared by the API views."""

from __future__ import annotations

from rest_framework.exceptions import NotFound

from leads.forms import MAX_ID
from leads.models import Lead
from leads.selectors import lead_get

READ = {"leads:read"}
WRITE = {"leads:write"}


def checked_id(pk: int) -> int:
    """Return `pk`, or 404 for an id no bigint column can hold (the database would refuse the query)."""
    if not 0 < pk <= MAX_ID:
        raise NotFound("No such object.")
    return pk


def visible_lead(request, pk: int) -> Lead:
    """Return a lead the caller may see, or 404 (never 403: no hint that it exists)."""
    return lead_get(user=request.user, pk=checked_id(pk))
