"""Which pages each role sees in the navigation, and which page is each role's home."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from leads.roles import Role, has_role, is_admin


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def nav_items(user) -> list[NavItem]:
    items: list[NavItem] = []
    if has_role(user, Role.SALES_REP):
        items.append(NavItem("My queue", reverse("queue:home")))
    if is_admin(user) or has_role(user, Role.SALES_MANAGER):
        items.append(NavItem("Team board", reverse("queue:board")))
    if is_admin(user) or has_role(user, Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING):
        items.append(NavItem("Leads", reverse("leads:list")))
    # Reps see the dashboard too, scoped to their own numbers (reporting.filters.report_scope).
    if is_admin(user) or has_role(user, Role.EXECUTIVE, Role.SALES_MANAGER, Role.MARKETING, Role.SALES_REP):
        items.append(NavItem("Dashboard", reverse("reporting:dashboard")))
    if is_admin(user) or has_role(user, Role.MARKETING):
        items.append(NavItem("Imports", reverse("imports:list")))
        items.append(NavItem("Nurture", reverse("nurture:list")))
        items.append(NavItem("Webhooks", reverse("webhooks:list")))

    if is_admin(user) or has_role(user, *Role.values):
        items.append(NavItem("Lead definition", reverse("uld:index")))
    if is_admin(user) or has_role(user, Role.MARKETING, Role.SALES_MANAGER):
        items.append(NavItem("Scoring rules", reverse("scoring:index")))
    if is_admin(user) or has_role(user, *Role.values):
        items.append(NavItem("API tokens", reverse("tokens:list")))
    if is_admin(user):
        items.append(NavItem("System status", reverse("system_status")))
        items.append(NavItem("Admin", reverse("admin:index")))
    return items


def home_url(user) -> str:
    """Return the page a user lands on after login, by role."""
    if is_admin(user):
        return reverse("system_status")
    if has_role(user, Role.SALES_MANAGER):
        return reverse("queue:board")
    if has_role(user, Role.SALES_REP):
        return reverse("queue:home")
    if has_role(user, Role.MARKETING):
        return reverse("leads:list")
    if has_role(user, Role.EXECUTIVE):
        return reverse("reporting:dashboard")
    return reverse("no_role")
