"""The default B2B definition seeded on install, so a new system scores meaningfully from day one."""

from __future__ import annotations

FREE_MAIL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com", "gmx.de"]

FIT_RULES = [
    ("Decision maker", "authority", "equals", "decision_maker", 15),
    ("Influencer", "authority", "equals", "influencer", 8),
    ("Senior title (VP)", "title", "contains", "vp", 12),
    ("Senior title (director)", "title", "contains", "director", 10),
    ("Senior title (chief)", "title", "starts_with", "chief", 12),
    ("Student", "title", "contains", "student", -30),
    ("Mid-market to enterprise (200–5,000 staff)", "employees", "range", {"min": 200, "max": 5000}, 15),
    ("Growing company (51–199 staff)", "employees", "range", {"min": 51, "max": 199}, 8),
    ("Target industry", "industry", "one_of", ["software", "financial services", "manufacturing", "healthcare"], 10),
    ("Buying within 3 months", "timeframe", "one_of", ["now", "lt_3m"], 10),
    ("Budget stated", "budget", "is_set", None, 5),
    ("Free-mail address", "email", "email_domain_in", FREE_MAIL_DOMAINS, -15),
    ("Competitor", "email", "email_domain_in", ["competitor.example", "rivalcorp.example"], -50),
]

# (label, kind, payload key, payload operator, payload value, points, cap, half-life days, expiry days)
ENGAGEMENT_RULES = [
    ("Visited pricing", "web_visit", "url", "contains", "/pricing", 10, 30, 14, None),
    ("Web visit", "web_visit", "", "", "", 1, 10, 7, None),
    ("Form filled", "form_fill", "", "", "", 15, 30, 30, None),
    ("Email click", "email_click", "", "", "", 3, 15, 14, None),
    ("Email open", "email_open", "", "", "", 1, 5, None, 30),
    ("Content download", "download", "", "", "", 8, 24, 30, None),
    ("Webinar attended", "webinar", "", "", "", 12, 24, 45, None),
    ("Booth scan rated hot", "badge_scan", "rating", "equals", "hot", 25, 25, 60, None),
    ("Booth scan rated warm", "badge_scan", "rating", "equals", "warm", 12, 12, 60, None),
    ("Booth scan rated cold", "badge_scan", "rating", "equals", "cold", 3, 3, 60, None),
    ("Booth scan rated A", "badge_scan", "rating", "equals", "A", 25, 25, 60, None),
    ("Booth scan rated B", "badge_scan", "rating", "equals", "B", 12, 12, 60, None),
    ("Booth scan rated C", "badge_scan", "rating", "equals", "C", 3, 3, 60, None),
]

REJECTION_REASONS = [
    ("no_response", "No response after the minimum touches", "nurture"),
    ("not_now", "Interested, but not buying now", "nurture"),
    ("no_budget", "No budget", "nurture"),
    ("bad_fit", "Not our kind of customer", "disqualify"),
    ("student_or_competitor", "Student or competitor", "disqualify"),
    ("wrong_contact", "Wrong person at the company", "wrong_contact"),
    ("duplicate", "Duplicate of another lead", "duplicate"),
]


def rules_seed(*, version, fit_rule_model, engagement_rule_model, reason_model) -> None:
    """Give `version` the default rules and rejection reasons (models passed in so migrations can call it)."""
    fit_rule_model.objects.bulk_create(
        fit_rule_model(uld_version=version, label=label, field=field, operator=op, value=value, points=points)
        for label, field, op, value, points in FIT_RULES
    )
    engagement_rule_model.objects.bulk_create(
        engagement_rule_model(
            uld_version=version,
            label=label,
            kind=kind,
            payload_key=key,
            payload_operator=op,
            payload_value=value,
            points=points,
            cap=cap,
            half_life_days=half_life,
            expires_after_days=expiry,
        )
        for label, kind, key, op, value, points, cap, half_life, expiry in ENGAGEMENT_RULES
    )
    reason_model.objects.bulk_create(
        reason_model(version=version, code=code, label=label, route=route) for code, label, route in REJECTION_REASONS
    )


def default_definition_seed(get_model) -> None:
    """Install the default B2B definition as agreed v1 when no version exists at all.

    `get_model` is `apps.get_model` (a migration's historical models, or the live registry), so the data
    migration and a test that starts from a flushed database install the very same definition.
    """
    from django.utils import timezone

    uld_model = get_model("leads", "ULDVersion")
    if uld_model.objects.exists():
        return
    version = uld_model.objects.create(
        number=1,
        status="agreed",
        agreed_at=timezone.now(),
        summary="Default B2B definition installed with leadops. Propose your own and have it signed off.",
    )
    rules_seed(
        version=version,
        fit_rule_model=get_model("scoring", "FitRule"),
        engagement_rule_model=get_model("scoring", "EngagementRule"),
        reason_model=get_model("leads", "RejectionReason"),
    )
