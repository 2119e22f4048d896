"""The PostgreSQL path of bench/generate.py: COPY per chunk from a writer thread, in one transaction."""

from __future__ import annotations

import io
import queue
import random
import threading
import time

from bench.generate_rows import (
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    STAGE_COLUMNS,
    Generator,
    activity_lines,
    lead_lines,
    stage_lines,
)
from bench.timing import Timer, process_cpu_seconds

COPY_READ_SIZE = 1 << 20
_DONE = object()


class CopyWriter:
    """Run COPYs on `raw` (a psycopg2 connection) in a thread, so generating the next chunk overlaps them.

    The queue holds at most two chunks, which bounds memory; an error in the thread is raised again
    in the caller at the next `put` or at `close`.
    """

    def __init__(self, raw, timer: Timer) -> None:
        self.raw = raw
        self.timer = timer
        self.jobs: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="copy-writer", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (job := self.jobs.get()) is not _DONE:
            if self.error is not None:
                continue
            label, sql, text, rows = job
            try:
                started = time.perf_counter()
                with self.raw.cursor() as cursor:
                    cursor.copy_expert(sql, io.StringIO(text), size=COPY_READ_SIZE)
                self.timer.add(label, time.perf_counter() - started, rows)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
                self.error = exc

    def put(self, label: str, sql: str, text: str, rows: int) -> None:
        self._raise()
        self.jobs.put((label, sql, text, rows))

    def close(self) -> None:
        self.jobs.put(_DONE)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def _reserve_ids(cursor, table: str, count: int) -> int:
    """Move the table's id sequence past `count` new ids and return the id before the first of them."""
    cursor.execute(
        f"SELECT GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), nextval(pg_get_serial_sequence(%s, 'id')))",
        [table],
    )
    base = cursor.fetchone()[0]
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, base + max(count, 1)])
    return base


def _reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}", [table]
    )


# (table, column, referenced table, which new rows) for every foreign key the generated rows fill.
_FOREIGN_KEYS = [
    ("leads_lead", "campaign_id", "leads_campaign", "id > %(lead_base)s"),
    ("leads_lead", "owner_id", "auth_user", "id > %(lead_base)s"),
    ("leads_stagechange", "lead_id", "leads_lead", "lead_id > %(lead_base)s"),
    ("leads_stagechange", "changed_by_id", "auth_user", "lead_id > %(lead_base)s"),
    ("leads_stagechange", "owner_id", "auth_user", "lead_id > %(lead_base)s"),
    ("leads_activity", "lead_id", "leads_lead", "id > %(activity_base)s"),
    ("leads_activity", "recorded_by_id", "auth_user", "id > %(activity_base)s"),
]


def _check_foreign_keys(cursor, *, lead_base: int, activity_base: int) -> None:
    """Raise if any new row points at a missing row: what the skipped FK triggers would have refused."""
    for table, column, target, new_rows in _FOREIGN_KEYS:
        cursor.execute(
            f"SELECT count(*) FROM {table} t WHERE {new_rows} AND t.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.id = t.{column})",
            {"lead_base": lead_base, "activity_base": activity_base},
        )
        missing = cursor.fetchone()[0]
        if missing:
            raise RuntimeError(f"{missing} new rows of {table}.{column} point at no {target} row; rolled back.")


def copy_all(*, gen: Generator, chunk: int, truncate: bool, timer: Timer) -> dict[str, int]:
    """Write all leads, their stage logs and activities with COPY in one transaction; then ANALYZE."""
    from django.db import connection, transaction

    from leads.models import Activity, Lead, StageChange

    lead_table, stage_table, activity_table = (m._meta.db_table for m in (Lead, StageChange, Activity))
    counts = {"leads": 0, "stage_changes": 0, "activities": 0}
    text_rng = random.Random(gen.rng.random())
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
            backend_cpu = process_cpu_seconds(backend)
            # Losing the last commit in a crash only loses generated data: no need to wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SELECT current_setting('is_superuser') = 'on'")
            skip_fk_triggers = cursor.fetchone()[0]
            if skip_fk_triggers:
                # Foreign keys are checked by a trigger per row (an index probe plus a row lock on the
                # lead), about half of the load time. With the triggers off for this transaction the same
                # keys are checked set-based before commit (`_check_foreign_keys`). Needs a superuser;
                # it also skips any other trigger, and leadops defines none.
                cursor.execute("SET LOCAL session_replication_role = replica")
            if truncate:
                t = time.perf_counter()
                # CASCADE also empties other apps' tables that point at leads: their rows would dangle.
                cursor.execute(f"TRUNCATE {activity_table}, {stage_table}, {lead_table} CASCADE")
                timer.add("truncate", time.perf_counter() - t)
            # Ids are assigned here (sequences moved past them first) so activities can name their lead.
            lead_base = _reserve_ids(cursor, lead_table, gen.n)
            activity_base = _reserve_ids(cursor, activity_table, gen.m)
        writer = CopyWriter(raw, timer)
        try:
            for index in range(0, gen.n, chunk):
                count = min(chunk, gen.n - index)
                t = time.perf_counter()
                specs, rows = gen.chunk(
                    index=index,
                    count=count,
                    first_id=lead_base + 1 + index,
                    first_activity_id=activity_base + 1 + gen.m * index // gen.n,
                )
                timer.add("generate rows (python)", time.perf_counter() - t, count + len(rows))
                t = time.perf_counter()
                leads_text = lead_lines(specs, gen.clock)
                stages_text = stage_lines(specs, gen.clock, gen.dg.OWNED_FROM)
                activities_text = activity_lines(rows, gen.clock, gen.dg.PAYLOADS, text_rng)
                n_stages = sum(len(s.path) for s in specs)
                timer.add("format COPY text (python)", time.perf_counter() - t)
                writer.put("COPY leads", f"COPY {lead_table} ({LEAD_COLUMNS}) FROM STDIN", leads_text, count)
                writer.put(
                    "COPY stage changes", f"COPY {stage_table} ({STAGE_COLUMNS}) FROM STDIN", stages_text, n_stages
                )
                writer.put(
                    "COPY activities",
                    f"COPY {activity_table} ({ACTIVITY_COLUMNS}) FROM STDIN",
                    activities_text,
                    len(rows),
                )
                counts["leads"] += count
                counts["stage_changes"] += n_stages
                counts["activities"] += len(rows)
        finally:
            writer.close()
        t = time.perf_counter()
        with raw.cursor() as cursor:
            for table in (lead_table, stage_table, activity_table):
                _reset_sequence(cursor, table)
        timer.add("reset sequences", time.perf_counter() - t)
        if skip_fk_triggers:
            t = time.perf_counter()
            with raw.cursor() as cursor:
                _check_foreign_keys(cursor, lead_base=lead_base, activity_base=activity_base)
            timer.add("check foreign keys (set-based)", time.perf_counter() - t)
        t_commit = time.perf_counter()
    timer.add("commit", time.perf_counter() - t_commit)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {lead_table}, {stage_table}, {activity_table}")
    timer.add("analyze", time.perf_counter() - t)
    if backend_cpu is not None and (after := process_cpu_seconds(backend)) is not None:
        timer.notes.append(f"PostgreSQL backend CPU: {after - backend_cpu:.1f} s")
    return counts
