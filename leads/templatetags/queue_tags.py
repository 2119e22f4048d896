"""The queue's row, rendered in Python: it is drawn 25 times a page, and the template engine's variable
lookups were most of the page's time (this keeps the queue within a small multiple of a bare view)."""

from __future__ import annotations

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

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


def _ago(moment) -> str:
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


@register.simple_tag(takes_context=True)
def queue_row(context, lead) -> SafeString:
    """Render one `<tr>` of the queue (also the htmx response after an action on the row)."""
    request = context.get("request")
    lead_url = _url(context, "queue:lead", lead.pk)
    label = getattr(lead, "q_label", "")
    bucket = format_html('<span class="bucket bucket-{}">{}</span>', lead.q_bucket, label) if label else ""
    subtitle = " · ".join(part for part in (lead.title, lead.company_name) if part)
    grade = format_html('<span class="grade grade-{}">{}</span>', lead.grade, lead.grade) if lead.grade else ""
    sla = getattr(lead, "sla_state", None)
    sla_html = format_html('<span class="sla sla-{}">{}</span>', sla.css, sla.label) if sla else ""
    if lead.next_follow_up_at:
        local = timezone.localtime(lead.next_follow_up_at)
        follow_up = format_html('<time datetime="{}">{}</time>', local.isoformat(), local.strftime("%a %d %b %H:%M"))
    else:
        follow_up = "—"
    last_touch = _ago(lead.last_touch_at) if lead.last_touch_at else "never"
    accept = ""
    if lead.stage in ACCEPTABLE and request is not None:
        accept_url = _url(context, "queue:accept", lead.pk)
        accept = format_html(
            '<form method="post" action="{0}" hx-post="{0}" hx-target="closest tr" hx-swap="outerHTML" '
            'class="inline-form"><input type="hidden" name="csrfmiddlewaretoken" value="{1}">'
            '<input type="hidden" name="expected_stage" value="{2}"><input type="hidden" name="return" value="row">'
            '<button type="submit" class="small">Accept</button></form>',
            accept_url,
            get_token(request),
            lead.stage,
        )
    messages = context.get("row_messages") or ()
    notes = format_html_join(
        "", '<p class="message message-{}" role="status">{}</p>', ((m.tags, str(m)) for m in messages)
    )
    return format_html(
        '<tr id="queue-lead-{pk}" class="queue-row" data-testid="queue-row" data-lead="{pk}">'
        "<td>{bucket}</td>"
        '<td><a href="{url}" data-testid="lead-link">{name}</a><br><small>{subtitle}</small>'
        '<details class="score-why"><summary>Score {score}</summary><small>Why this score: '
        '<a href="{detail}">see the lead\'s score explanation</a>.</small></details></td>'
        "<td>{grade}</td>"
        '<td><span class="stage stage-{stage}" data-testid="row-stage">{stage_label}</span></td>'
        "<td>{sla}</td><td>{follow_up}</td><td>{last_touch}</td><td>{touches} / {target}</td>"
        '<td>{accept} <a href="{url}" class="small">Work it</a>{notes}</td></tr>',
        pk=lead.pk,
        bucket=bucket,
        url=lead_url,
        name=lead.display_name,
        subtitle=subtitle,
        score=lead.score,
        detail=_url(context, "leads:detail", lead.pk),
        grade=grade,
        stage=lead.stage,
        stage_label=lead.get_stage_display(),
        sla=sla_html,
        follow_up=follow_up,
        last_touch=last_touch,
        touches=lead.sales_touches,
        target=getattr(lead, "touch_target", ""),
        accept=accept,
        notes=notes,
    )
