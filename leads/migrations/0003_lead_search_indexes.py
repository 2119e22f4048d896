"""Indexes for the lead list's prefix search (name, company, email), on PostgreSQL only.

The list searches with `UPPER(col) LIKE UPPER('abc%')` (Django's istartswith) and `email LIKE 'abc%'`.
A plain btree serves LIKE prefixes only under the C collation, so these use text_pattern_ops, which
works under any collation. SQLite has no operator classes and needs none for its table sizes, so the
indexes are raw SQL here rather than `Meta.indexes` (which would emit the opclass on SQLite too).
CONCURRENTLY keeps the table writable while a big one is indexed, which needs a non-atomic migration.
"""

from django.db import migrations

INDEXES = {
    "lead_search_last_name": "(UPPER(last_name) text_pattern_ops)",
    "lead_search_first_name": "(UPPER(first_name) text_pattern_ops)",
    "lead_search_company": "(UPPER(company_name) text_pattern_ops)",
    "lead_search_email": "(email varchar_pattern_ops)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON leads_lead {columns}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0002_roles")]
    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
