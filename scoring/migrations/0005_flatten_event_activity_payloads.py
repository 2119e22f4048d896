"""Move the properties of activities recorded from API events to the top level of their payload.

Events used to be stored as {"event": ..., "id": ..., "properties": {...}} while every scoring rule looks its
payload key up at the top level (as imports and nurture write it), so "Visited pricing" never fired for
an API visit. The leads of the rewritten activities are marked dirty so the next re-score counts them.
A one-off correction of the stored shape, so it writes activities that are otherwise append-only.
"""

from django.db import migrations
from django.utils import timezone

BATCH = 2000
OLD_KEYS = {"event", "id", "properties"}


def _rewrite(apps, *, flat: bool) -> None:
    activity_model = apps.get_model("leads", "Activity")
    dirty_model = apps.get_model("scoring", "ScoreDirty")
    rows = activity_model.objects.filter(source="api").order_by("pk").only("pk", "lead_id", "payload")
    if flat:
        rows = rows.filter(payload__has_key="properties")
    batch = []

    def flush() -> None:
        activity_model.objects.bulk_update(batch, ["payload"])
        now = timezone.now()
        dirty_model.objects.bulk_create(
            [dirty_model(lead_id=lead_id, marked_at=now) for lead_id in sorted({a.lead_id for a in batch})],
            ignore_conflicts=True,
        )
        batch.clear()

    for activity in rows.iterator(chunk_size=BATCH):
        payload = activity.payload
        if flat:
            if set(payload) != OLD_KEYS or not isinstance(payload["properties"], dict):
                continue
            activity.payload = {**payload["properties"], "event": payload["event"], "id": payload["id"]}
        else:
            if not {"event", "id"} <= set(payload):
                continue
            properties = {k: v for k, v in payload.items() if k not in ("event", "id")}
            activity.payload = {"event": payload["event"], "id": payload["id"], "properties": properties}
        batch.append(activity)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


def flatten(apps, schema_editor):
    _rewrite(apps, flat=True)


def nest(apps, schema_editor):
    _rewrite(apps, flat=False)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0004_dirty_trigger_skippable"), ("leads", "0011_drop_fk_indexes_covered_by_composites")]
    operations = [migrations.RunPython(flatten, nest)]
