from __future__ import annotations

from leads.navigation import nav_items
from leads.roles import primary_role


def navigation(request) -> dict:
    """Put the role's navigation and role name in every template (cheap: roles are cached per user)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    return {"nav_items": nav_items(user), "user_role": primary_role(user)}
