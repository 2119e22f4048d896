"""What a user may do to a lead they can see. Visibility itself is `leads.selectors.lead_scope`."""

from __future__ import annotations

from leads.models import Lead
from leads.roles import Role, has_role, is_admin


def can_change_stage(user, lead: Lead) -> bool:
    """Reps move their own leads; managers their team's; marketing moves leads in and out of nurture."""
    if is_admin(user):
        return True
    if has_role(user, Role.SALES_MANAGER, Role.MARKETING):
        return True
    return has_role(user, Role.SALES_REP) and lead.owner_id == user.pk
