"""Permissions of the API: token scopes, and which roles use which part of it."""

from __future__ import annotations

from rest_framework import permissions

from leads.models import APIToken
from leads.roles import Role, has_role, is_admin


class TokenHasScope(permissions.BasePermission):
    """A token request needs the scopes the view declares; a session is limited by role only.

    `required_scopes` on the view is a set, or a dict of HTTP method to set. A view that declares nothing
    refuses every token: forgetting to declare a scope must not open an endpoint to all tokens.
    """

    message = "This token does not carry the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, APIToken):
            return True
        required = getattr(view, "required_scopes", None)
        if isinstance(required, dict):
            required = required.get(request.method, required.get("*"))
            if required is None and request.method in ("HEAD", "OPTIONS"):
                required = getattr(view, "required_scopes", {}).get("GET")
        if required is None:
            self.message = "This endpoint takes no tokens."
            return False
        if not token.has_scopes(set(required)):
            self.message = f"This token needs the scope {', '.join(sorted(required))}."
            return False
        return True


class IsLeadReader(permissions.BasePermission):
    """Leads are for sales and marketing; executives read reports."""

    message = "Your role reads reports, not leads."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user) or has_role(request.user, Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING)


class IsLeadCreator(permissions.BasePermission):
    """New leads come from marketing (and admins); reps get theirs by assignment."""

    message = "Only marketing creates leads through the API."

    def has_permission(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return is_admin(request.user) or has_role(request.user, Role.MARKETING)


class IsSalesForWrites(permissions.BasePermission):
    """Working a lead (stage actions, touches) is for its rep, their manager or an admin."""

    message = "Only sales (the lead's rep or their manager) works leads through the stage actions."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_admin(request.user) or has_role(request.user, Role.SALES_REP, Role.SALES_MANAGER)
