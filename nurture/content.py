"""Merge fields in a step's subject and body: `{{ first_name }}`, `{{ company }}`, `{{ rep }}`, ...

A small substitution of known names rather than Django's template engine: marketers write this text, so
it must not reach template tags, filters or attributes of objects, and an unknown field must be refused
with its name when the step is saved (the engine would render it as an empty string instead).
"""

from __future__ import annotations

import re

FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

MERGE_FIELDS = {
    "first_name": "the lead's first name (or “there”)",
    "last_name": "the lead's last name",
    "company": "the lead's company",
    "title": "the lead's job title",
    "rep": "the track owner's name",
    "content_link": "the tracked link to the step's content",
    "unsubscribe_link": "the unsubscribe link",
}


def unknown_fields(text: str) -> list[str]:
    """Return the merge fields in `text` that are not known, in order of appearance."""
    return [name for name in FIELD.findall(text or "") if name not in MERGE_FIELDS]


def merge_values(*, lead, rep_name: str, content_link: str = "", unsubscribe_link: str = "") -> dict[str, str]:
    return {
        "first_name": lead.first_name or "there",
        "last_name": lead.last_name,
        "company": lead.company_name or "your company",
        "title": lead.title,
        "rep": rep_name,
        "content_link": content_link,
        "unsubscribe_link": unsubscribe_link,
    }


def render(text: str, values: dict[str, str]) -> str:
    """Replace each known merge field by its value; unknown ones were refused when the step was saved."""
    return FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")
