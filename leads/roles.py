"""The four roles, held as Django groups (created by a data migration). Superusers are admins."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    MARKETING = "Marketing", "Marketing"
    SALES_REP = "Sales Rep", "Sales rep"
    SALES_MANAGER = "Sales Manager", "Sales manager"
    EXECUTIVE = "Executive", "Executive"


def user_roles(user) -> set[str]:
    """Return the role names the user holds (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_leadops_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._leadops_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False))


def primary_role(user) -> str | None:
    """Return the role whose home page the user lands on; admins first."""
    if is_admin(user):
        return "Admin"
    held = user_roles(user)
    for role in (Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING, Role.EXECUTIVE):
        if role.value in held:
            return role.value
    return None
