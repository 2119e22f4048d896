"""The SQL of one queue page: the bucket counts, the page's sort keys and its rows in one statement.

Why hand-written SQL: the page is the rep's most requested view and its database work is tiny (an
index scan of the rep's own leads), but the ORM rebuilt and compiled three queries for it on every
request (the counts, the keyset, the rows by id): compiling took about five times as long as PostgreSQL
took to run them. This is one statement with parameters, portable between PostgreSQL and SQLite (row
values, CASE, LEFT JOIN; no FILTER, no ANY), and `leads.selectors_queue.queue_page` stays the only
caller and the place the ordering rule is documented. The ORM version of the same sort key,
`_queue_base`, still serves the CSV export; tests compare the two.
"""

# S608: only the model's table and column names and fixed conditions with placeholders are formatted into
# these statements; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import Lead, ULDStatus, ULDVersion

# The columns a queue row shows (leads.templatetags.queue_tags) and its SLA clock reads; the rest of
# the lead is deferred (loaded on first access, which the queue page never does).
ROW_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company_name",
    "stage",
    "grade",
    "score",
    "owner",
    "next_follow_up_at",
    "last_touch_at",
    "sales_touches",
    "first_touch_due_at",
    "first_touch_at",
)


@dataclass(frozen=True)
class PageRows:
    counts: dict[str, int]
    agreed_version_id: int | None
    keys: list[tuple[int, dt.datetime, int, int]]
    leads: list[Lead]


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _aware(value) -> dt.datetime:
    """Return a column read back from SQL as an aware datetime (SQLite hands back text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def queue_page_rows(
    *,
    owner_id: int,
    now: dt.datetime,
    day_ends: dt.datetime,
    worked: tuple[str, ...],
    new: tuple[str, ...],
    far_future: dt.datetime,
    q: str,
    bucket: int | None,
    grade: str,
    stage: str,
    after: tuple[int, dt.datetime, int, int] | None,
    limit: int,
) -> PageRows:
    """Run the page's statement: counts over the owner's whole queue, then `limit` + 1 keys and their rows."""
    table = Lead._meta.db_table
    # In the model's field order: Model.from_db places a partial row's values by that order.
    fields = [field for field in Lead._meta.concrete_fields if field.name in ROW_FIELDS]
    now_p, ends_p, far_p = _db_datetime(now), _db_datetime(day_ends), _db_datetime(far_future)
    worked_sql = ", ".join(["%s"] * len(worked))
    new_sql = ", ".join(["%s"] * len(new))
    later = "(next_follow_up_at IS NULL OR next_follow_up_at >= %s)"
    is_new = f"(grade = %s AND stage IN ({new_sql}))"

    counts_sql = (
        "SELECT COUNT(*) AS total,"
        " COALESCE(SUM(CASE WHEN next_follow_up_at < %s THEN 1 ELSE 0 END), 0) AS overdue,"
        " COALESCE(SUM(CASE WHEN next_follow_up_at >= %s AND next_follow_up_at < %s THEN 1 ELSE 0 END), 0) AS today,"
        f" COALESCE(SUM(CASE WHEN {is_new} AND {later} THEN 1 ELSE 0 END), 0) AS new"
        f" FROM {table} WHERE owner_id = %s AND stage IN ({worked_sql})"
    )
    counts_params = [now_p, now_p, ends_p, "A", *new, ends_p, owner_id, *worked]

    where = ["owner_id = %s", f"stage IN ({worked_sql})"]
    where_params: list = [owner_id, *worked]
    if q:
        pattern = connection.ops.prep_for_like_query(q) + "%"
        where.append(
            "(UPPER(last_name) LIKE UPPER(%s) ESCAPE '\\' OR UPPER(first_name) LIKE UPPER(%s) ESCAPE '\\'"
            " OR UPPER(company_name) LIKE UPPER(%s) ESCAPE '\\' OR email LIKE %s ESCAPE '\\')"
        )
        where_params += [pattern, pattern, pattern, connection.ops.prep_for_like_query(q.lower()) + "%"]
    if grade:
        where.append("grade = %s")
        where_params.append(grade)
    if stage:
        where.append("stage = %s")
        where_params.append(stage)
    keys_sql = (
        "SELECT id AS k_id,"
        " CASE WHEN next_follow_up_at < %s THEN 0 WHEN next_follow_up_at < %s THEN 1"
        f" WHEN {is_new} THEN 2 ELSE 3 END AS k_bucket,"
        f" CASE WHEN {is_new} AND {later} THEN %s ELSE COALESCE(next_follow_up_at, %s) END AS k_due,"
        " -score AS k_neg_score"
        f" FROM {table} WHERE {' AND '.join(where)}"
    )
    keys_params = [now_p, ends_p, "A", *new, "A", *new, ends_p, far_p, far_p, *where_params]
    outer = []
    outer_params: list = []
    if bucket is not None:
        outer.append("k_bucket = %s")
        outer_params.append(bucket)
    if after is not None:
        outer.append("(k_bucket, k_due, k_neg_score, k_id) > (%s, %s, %s, %s)")
        outer_params += [after[0], _db_datetime(after[1]), after[2], after[3]]
    page_sql = (
        f"SELECT k_bucket, k_due, k_neg_score, k_id FROM ({keys_sql}) keys"
        + (f" WHERE {' AND '.join(outer)}" if outer else "")
        + " ORDER BY k_bucket, k_due, k_neg_score, k_id LIMIT %s"
    )
    page_params = [*keys_params, *outer_params, limit + 1]

    # The agreed ULD version's id rides along, so the page's policy needs no query of its own.
    agreed_sql = f"SELECT id FROM {ULDVersion._meta.db_table} WHERE status = %s ORDER BY number DESC LIMIT 1"
    lead_columns = ", ".join(f"l.{field.column}" for field in fields)
    sql = (
        f"SELECT c.overdue, c.today, c.new, c.total, ({agreed_sql}) AS agreed_id, pl.*"
        f" FROM ({counts_sql}) c"
        f" LEFT JOIN (SELECT p.k_bucket, p.k_due, p.k_neg_score, p.k_id, {lead_columns}"
        f" FROM ({page_sql}) p JOIN {table} l ON l.id = p.k_id) pl ON 1 = 1"
        " ORDER BY pl.k_bucket, pl.k_due, pl.k_neg_score, pl.k_id"
    )
    params = [ULDStatus.AGREED, *counts_params, *page_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    first = rows[0]
    counts = {"overdue": int(first[0]), "today": int(first[1]), "new": int(first[2]), "total": int(first[3])}
    agreed_id = first[4]
    columns = [field.get_col(table) for field in fields]
    converters = [
        (*connection.ops.get_db_converters(column), *field.get_db_converters(connection))
        for field, column in zip(fields, columns, strict=True)
    ]
    attnames = [field.attname for field in fields]
    keys, leads = [], []
    for row in rows:
        if row[8] is None:  # the LEFT JOIN's empty side: the counts of an empty page
            continue
        keys.append((int(row[5]), _aware(row[6]), int(row[7]), int(row[8])))
        values = []
        for value, column, field_converters in zip(row[9:], columns, converters, strict=True):
            for convert in field_converters:
                value = convert(value, column, connection)
            values.append(value)
        leads.append(Lead.from_db(connection.alias, attnames, values))
    return PageRows(counts=counts, agreed_version_id=agreed_id, keys=keys, leads=leads)
