"""Reads of API tokens for the tokens page."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leads.models import APIToken
from leads.roles import is_admin


def api_tokens_visible(*, user) -> QuerySet[APIToken]:
    """Return the tokens `user` may see and revoke: their own and those they issued; admins see all."""
    tokens = APIToken.objects.select_related("user", "created_by").order_by("revoked_at", "-created_at", "-id")
    if is_admin(user):
        return tokens
    return tokens.filter(Q(user=user) | Q(created_by=user))
