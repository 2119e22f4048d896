"""The nurture panel on a lead's page: its enrolment and next step (an inclusion tag, so leads' view is untouched)."""

from __future__ import annotations

from django import template

from leads.roles import Role, has_role, is_admin
from nurture.selectors import lead_enrolment, tracks_active

register = template.Library()


@register.inclusion_tag("nurture/_lead_enrolment.html", takes_context=True)
def nurture_enrolment(context, lead):
    user = context["request"].user
    can_enrol = is_admin(user) or has_role(user, Role.MARKETING)
    return {
        **lead_enrolment(lead=lead),
        "lead": lead,
        "can_enrol": can_enrol,
        "tracks": list(tracks_active()) if can_enrol else [],
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def nurture_can_enrol(context) -> bool:
    """Whether the page's user may enrol leads in tracks (marketing and admins)."""
    user = context["request"].user
    return is_admin(user) or has_role(user, Role.MARKETING)


@register.inclusion_tag("nurture/_bulk_enrol.html", takes_context=True)
def nurture_bulk_enrol(context):
    request = context["request"]
    return {"tracks": list(tracks_active()), "next": request.get_full_path(), "csrf_token": context.get("csrf_token")}
