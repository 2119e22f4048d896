"""The queue's row, rendered in Python: it is drawn 25 times a page, and the template engine's variable
lookups were most of the page's time (this keeps the queue within a small multiple of a bare view)."""

from __future__ import annotations

import html

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from leads.lifecycle import Stage

register = template.Library()
ACCEPTABLE = (Stage.INQUIRY, Stage.MQL)
_PLACEHOLDER = 987654321


def _url(context, name: str, pk: int) -> str:
    """Reverse `name` once per render and fill in the id after (reverse costs more than the whole row)."""
    cache = context.render_context.setdefault("queue_row_urls", {})
    if name not in cache:
        cache[name] = reverse(name, args=[_PLACEHOLDER])
    return cache[name].replace(str(_PLACEHOLDER), str(pk))


def _render_constants(context) -> tuple:
    """Return (stage labels, time zone, now), looked up once per render rather than once per row."""
    constants = context.render_context.get("queue_row_constants")
    if constants is None:
        labels = {value: str(label) for value, label in Stage.choices}
        constants = (labels, timezone.get_current_timezone(), timezone.now())
        context.render_context["queue_row_constants"] = constants
    return constants


def _e(value) -> str:
    """HTML-escape a value (the standard library's escape: Django's adds a lazy-string wrapper per call)."""
    return html.escape(str(value), quote=True)


def _ago(moment, now) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


@register.simple_tag(takes_context=True)
def queue_row(context, lead) -> SafeString:
    """Render one `<tr>` of the queue (also the htmx response after an action on the row).

    Every value from the database goes through `_e` (HTML-escaped); the rest is fixed markup.
    """
    request = context.get("request")
    stage_labels, zone, now = _render_constants(context)
    stage_label = stage_labels.get(lead.stage, lead.stage)
    lead_url = _url(context, "queue:lead", lead.pk)
    label = getattr(lead, "q_label", "")
    bucket = f'<span class="bucket bucket-{int(lead.q_bucket)}">{_e(label)}</span>' if label else ""
    subtitle = " · ".join(part for part in (lead.title, lead.company_name) if part)
    grade = f'<span class="grade grade-{_e(lead.grade)}">{_e(lead.grade)}</span>' if lead.grade else ""
    sla = getattr(lead, "sla_state", None)
    sla_html = f'<span class="sla sla-{_e(sla.css)}">{_e(sla.label)}</span>' if sla else ""
    follow_up = "—"
    if lead.next_follow_up_at:
        local = lead.next_follow_up_at.astimezone(zone)
        follow_up = f'<time datetime="{local.isoformat()}">{local.strftime("%a %d %b %H:%M")}</time>'
    last_touch = _ago(lead.last_touch_at, now) if lead.last_touch_at else "never"
    accept = ""
    if lead.stage in ACCEPTABLE and request is not None:
        accept_url = _url(context, "queue:accept", lead.pk)
        accept = (
            f'<form method="post" action="{accept_url}" hx-post="{accept_url}" hx-target="closest tr" '
            'hx-swap="outerHTML" class="inline-form">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(get_token(request))}">'
            f'<input type="hidden" name="expected_stage" value="{_e(lead.stage)}">'
            '<input type="hidden" name="return" value="row"><button type="submit" class="small">Accept</button></form>'
        )
    notes = "".join(
        f'<p class="message message-{_e(m.tags)}" role="status">{_e(str(m))}</p>'
        for m in context.get("row_messages") or ()
    )
    target = getattr(lead, "touch_target", "")
    html = (
        f'<tr id="queue-lead-{lead.pk}" class="queue-row" data-testid="queue-row" data-lead="{lead.pk}">'
        f"<td>{bucket}</td>"
        f'<td><a href="{lead_url}" data-testid="lead-link">{_e(lead.display_name)}</a><br>'
        f"<small>{_e(subtitle)}</small>"
        f'<details class="score-why"><summary>Score {int(lead.score)}</summary><small>Why this score: '
        f'<a href="{_url(context, "leads:detail", lead.pk)}">see the lead\'s score explanation</a>.</small>'
        "</details></td>"
        f"<td>{grade}</td>"
        f'<td><span class="stage stage-{_e(lead.stage)}" data-testid="row-stage">{_e(stage_label)}'
        "</span></td>"
        f"<td>{sla_html}</td><td>{follow_up}</td><td>{last_touch}</td>"
        f"<td>{int(lead.sales_touches)} / {_e(target)}</td>"
        f'<td>{accept} <a href="{lead_url}" class="small">Work it</a>{notes}</td></tr>'
    )
    return mark_safe(html)
