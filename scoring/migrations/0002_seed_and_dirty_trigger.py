from __future__ import annotations

from django.db import migrations

PG_TRIGGER = """
CREATE OR REPLACE FUNCTION scoring_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One statement per inserting statement (a bulk load of a million activities costs one INSERT),
    -- in lead order so two concurrent loads cannot deadlock on the same dirty rows.
    INSERT INTO scoring_scoredirty (lead_id, marked_at)
    SELECT DISTINCT lead_id, now() FROM new_activities ORDER BY lead_id
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER scoring_activity_dirty AFTER INSERT ON leads_activity
REFERENCING NEW TABLE AS new_activities FOR EACH STATEMENT EXECUTE FUNCTION scoring_mark_dirty();
"""
PG_DROP = "DROP TRIGGER IF EXISTS scoring_activity_dirty ON leads_activity; DROP FUNCTION IF EXISTS scoring_mark_dirty();"
SQLITE_TRIGGER = """
CREATE TRIGGER scoring_activity_dirty AFTER INSERT ON leads_activity BEGIN
    INSERT OR IGNORE INTO scoring_scoredirty (lead_id, marked_at)
    VALUES (NEW.lead_id, strftime('%Y-%m-%d %H:%M:%f', 'now'));
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS scoring_activity_dirty;"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


def seed_default(apps, schema_editor):
    from scoring.defaults import default_definition_seed

    default_definition_seed(apps.get_model)


def unseed(apps, schema_editor):
    apps.get_model("leads", "ULDVersion").objects.filter(number=1, sign_offs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_scoring"), ("leads", "0008_uld")]
    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.RunPython(seed_default, unseed),
    ]
