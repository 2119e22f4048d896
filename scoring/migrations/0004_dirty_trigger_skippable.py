"""Let a transaction that scores its own new activities skip the activity trigger's dirty marks.

The import inserts a badge scan per lead and scores the new leads in the same transaction, so marking
them dirty only made the beat task score them a second time (and cost a row, an index entry and a
foreign-key check per lead). The trigger now does nothing while the transaction-local setting
`leadops.skip_dirty` is 'on' (see scoring.services.dirty_marks_skipped); every other insert is as before.
"""

from django.db import migrations

SKIPPABLE = """
CREATE OR REPLACE FUNCTION scoring_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Skipped by a transaction that scores these leads itself (set_config(..., true): local to it).
    IF current_setting('leadops.skip_dirty', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- One statement per inserting statement (a bulk load of a million activities costs one INSERT),
    -- in lead order so two concurrent loads cannot deadlock on the same dirty rows.
    INSERT INTO scoring_scoredirty (lead_id, marked_at)
    SELECT DISTINCT lead_id, now() FROM new_activities ORDER BY lead_id
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
"""
ORIGINAL = """
CREATE OR REPLACE FUNCTION scoring_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scoring_scoredirty (lead_id, marked_at)
    SELECT DISTINCT lead_id, now() FROM new_activities ORDER BY lead_id
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
"""


def make_skippable(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SKIPPABLE)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ORIGINAL)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_drop_fk_index_covered_by_composite")]
    operations = [migrations.RunPython(make_skippable, restore)]
