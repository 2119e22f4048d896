"""Writing scores: set-based re-scoring, the sales-ready hand-off, dirty leads, re-score runs, rule edits.

A re-score writes only the score columns (score, grade, score_fit, score_engagement, scored_at) and only
on rows whose values changed, so it never overwrites a concurrent edit of any other field of a lead.

Lock order everywhere: lead rows (in primary-key order), then their dirty marks (`ScoreDirty`), then the
rows the sales-ready hand-off touches (see leads.services.assignment).

One lock mode on leads everywhere: FOR NO KEY UPDATE (`Lead.objects.locked()`, or the SQL below), never
FOR UPDATE. A lead's key never changes; FOR UPDATE would also block the FOR KEY SHARE that a child row's
foreign key takes on its lead when the child's transaction commits (Django's foreign keys are deferred),
so a scorer holding a lead FOR UPDATE and waiting for a row such a transaction holds (a nurture step's
enrolment, a dirty mark) deadlocked with it, and so did a hand-off upgrading the chunk's NO KEY UPDATE.

An edit locks its lead and then writes the lead's dirty mark (leads.services.lead_edit). So a scorer locks
the leads it writes before it touches their marks or scores them: the dirty-lead scorer claims only leads
no one holds (SKIP LOCKED; a lead being edited keeps its mark for the next run) and only then deletes
their marks, and a re-score of an id range or list locks its leads in primary-key order before its
UPDATE, whose own row order follows the query plan. Claiming marks first and updating leads second
deadlocked with an edit ("deadlock detected").

Dirty marks are append-only (`ScoreDirty`): every writer inserts a mark of its own and the scorer deletes
only the marks its statement sees, so writers take no lock and never wait on one another or on the
scorer. An activity's foreign key share-locks its lead only when its transaction commits (Django's foreign
keys are deferred), so the scorer can claim a lead whose new activity it cannot see yet; that activity's
mark is just as invisible to it, survives its delete, and has the lead scored again next run. With one mark
per lead (ON CONFLICT DO NOTHING), the scorer deleted the committed mark the writer's insert had found and
the activity went unscored until the nightly re-score.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import Lead, ULDStatus, ULDVersion
from leads.selectors_uld import uld_active
from leads.services.lifecycle import lead_stage_change
from leads.services.routing import lead_route
from leads.services.uld import require_draft, require_editor

from .engine import sales_ready_gaps
from .models import EngagementRule, FitRule, RescoreChunk, RescoreRun, ScoreDirty, ScoreHistory
from .rules import engagement_rule_check, fit_rule_check
from .selectors import rules_for, scores_compute_python
from .sql import Sql, graded_select, id_list, id_range

logger = logging.getLogger(__name__)

# A score move at least this large is kept in the lead's score history even without a grade change.
SCORE_MOVE_LOGGED = 10
CHUNK_SIZE = 5000
DIRTY_BATCH = 2000
SCORE_COLUMNS = ("score", "grade", "score_fit", "score_engagement")


def _is_candidate(*, version: ULDVersion, stage: str, old_grade: str, grade: str) -> bool:
    """An inquiry that is (still) at a sales-ready grade after a change, or a nurture lead crossing into one.

    A nurture lead that sales returned keeps its grade; it comes back only when it crosses the line again.
    """
    ready = version.sales_ready_grades
    if grade not in ready:
        return False
    return stage == Stage.INQUIRY or (stage == Stage.NURTURE and old_grade not in ready)


def _write_sql(
    *, version: ULDVersion, now: dt.datetime, lead_filter: Sql, lead_table: str = "leads_lead"
) -> tuple[int, list[int]]:
    fit_rules, engagement_rules = rules_for(version=version)
    graded = graded_select(
        version=version,
        fit_rules=fit_rules,
        engagement_rules=engagement_rules,
        now=now,
        lead_filter=lead_filter,
        lead_table=lead_table,
    )
    ready = version.sales_ready_grades
    sql = (
        Sql()
        .add("WITH g AS MATERIALIZED (")
        .extend(graded)
        .add(
            f"), upd AS (UPDATE {lead_table} l SET score = g.total, grade = g.grade, score_fit = g.fit, "  # noqa: S608 - constant table names
            "score_engagement = g.eng, scored_at = %s FROM g WHERE l.id = g.id AND "
            "(l.score, l.grade, l.score_fit, l.score_engagement) IS DISTINCT FROM (g.total, g.grade, g.fit, g.eng) "
            "RETURNING l.id, l.stage, g.old_score, g.old_grade, g.total, g.grade, g.fit, g.eng), "
            "hist AS (INSERT INTO scoring_scorehistory "
            "(lead_id, uld_version_id, at, score, grade, fit, engagement, previous_score, previous_grade) "
            "SELECT id, %s, %s, total, grade, fit, eng, old_score, old_grade FROM upd "
            "WHERE old_grade <> grade OR abs(total - old_score) >= %s) "
            "SELECT (SELECT count(*) FROM upd), ARRAY(SELECT id FROM upd WHERE grade = ANY(%s::text[]) AND "
            "(stage = 'inquiry' OR (stage = 'nurture' AND NOT old_grade = ANY(%s::text[]))) ORDER BY id)",
            now,
            version.pk,
            now,
            SCORE_MOVE_LOGGED,
            ready,
            ready,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        changed, candidates = cursor.fetchone()
    return changed, list(candidates)


def _write_python(*, version: ULDVersion, now: dt.datetime, leads: list[Lead]) -> tuple[int, list[int]]:
    fit_rules, engagement_rules = rules_for(version=version)
    changed, candidates, history = 0, [], []
    results = scores_compute_python(
        version=version, fit_rules=fit_rules, engagement_rules=engagement_rules, leads=leads, now=now
    )
    for lead, result in results:
        new = (result.total, result.grade, result.fit, result.engagement)
        if new == tuple(getattr(lead, c) for c in SCORE_COLUMNS):
            continue
        Lead.objects.filter(pk=lead.pk).update(**dict(zip(SCORE_COLUMNS, new, strict=True)), scored_at=now)
        changed += 1
        if lead.grade != result.grade or abs(result.total - lead.score) >= SCORE_MOVE_LOGGED:
            history.append(
                ScoreHistory(
                    lead_id=lead.pk,
                    uld_version=version,
                    at=now,
                    score=result.total,
                    grade=result.grade,
                    fit=result.fit,
                    engagement=result.engagement,
                    previous_score=lead.score,
                    previous_grade=lead.grade,
                )
            )
        if _is_candidate(version=version, stage=lead.stage, old_grade=lead.grade, grade=result.grade):
            candidates.append(lead.pk)
    ScoreHistory.objects.bulk_create(history)
    return changed, candidates


def _leads_lock(*, lead_filter: Sql) -> None:
    """Lock the leads matching `lead_filter` in primary-key order, as the module's lock order says.

    FOR NO KEY UPDATE, the one lead lock mode (see the module docstring) and the lock the score UPDATE
    takes anyway: inserting an activity (whose foreign key only share-locks the lead) still goes ahead
    during a re-score.
    """
    sql = Sql().add(f"SELECT l.id FROM {Lead._meta.db_table} l WHERE ").extend(lead_filter)  # noqa: S608 - a model's table
    sql.add(" ORDER BY l.id FOR NO KEY UPDATE")
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)


def _score(
    *, version: ULDVersion, now: dt.datetime, lead_ids: list[int] | None = None, id_bounds=None, locked: bool = False
) -> tuple[int, int]:
    """Re-score the given leads (a list, or an inclusive id range); hand the sales-ready ones to routing.

    Locks the leads first unless the caller already holds them (`locked`); call inside a transaction.
    """
    if connection.vendor == "postgresql":
        lead_filter = id_list(lead_ids) if lead_ids is not None else id_range(*id_bounds)
        if not locked:
            _leads_lock(lead_filter=lead_filter)
        changed, candidates = _write_sql(version=version, now=now, lead_filter=lead_filter)
    else:
        leads = (
            Lead.objects.filter(pk__in=lead_ids) if lead_ids is not None else Lead.objects.filter(pk__range=id_bounds)
        )
        changed, candidates = _write_python(version=version, now=now, leads=list(leads.order_by("pk")))
    return changed, leads_qualify(version=version, lead_ids=candidates)


def leads_qualify(*, version: ULDVersion, lead_ids: list[int]) -> int:
    """Turn the sales-ready leads among `lead_ids` into MQLs through the lifecycle, and route them."""
    qualified = 0
    for lead in Lead.objects.filter(pk__in=lead_ids, stage__in=[Stage.INQUIRY, Stage.NURTURE]).order_by("pk"):
        if sales_ready_gaps(version=version, lead=lead, grade=lead.grade):
            continue
        try:
            # lead_stage_change is atomic itself and refuses before writing anything.
            lead_stage_change(
                lead=lead,
                to_stage=Stage.MQL,
                expected_stage=lead.stage,
                reason=f"Meets the lead definition v{version.number}: grade {lead.grade}, score {lead.score}.",
                changes={"qualified_uld_version": version},
                uld_version=version,
            )
        except ApplicationError as exc:
            # Someone moved the lead meanwhile; their move stands.
            logger.info("lead %s not qualified: %s", lead.pk, exc.message)
            continue
        lead_route(lead=lead, uld_version=version, grade=lead.grade)
        qualified += 1
    return qualified


def leads_score_staged(*, table: str, lead_ids: list[int]) -> list[int]:
    """Score new leads held in `table`, a staging copy of the lead table, before they are inserted.

    PostgreSQL only, in the caller's transaction; their activities must already be in the activity table
    (its foreign key is checked at commit). Writing the score into the staging row spares the lead table
    an UPDATE of every new row, which touches all its indexes. Logs the score history as `leads_score`
    does; return the ids to hand to `leads_qualify_ready` once the leads are inserted.
    """
    version = uld_active()
    if version is None or not lead_ids:
        return []
    _, candidates = _write_sql(version=version, now=timezone.now(), lead_filter=id_list(lead_ids), lead_table=table)
    return candidates


def dirty_marks_skip(*, cursor, skip: bool) -> None:
    """Switch the activity trigger's dirty marks off (or back on) for the rest of this transaction.

    PostgreSQL only. For a caller that scores the leads of the activities it inserts in the same
    transaction (the import's new leads): marking them dirty would only have the beat task score them
    again. A transaction-local setting, so a rollback or the commit ends it; the caller switches it back
    on after its insert because it may run inside a longer transaction.
    """
    cursor.execute("SELECT set_config('leadops.skip_dirty', %s, true)", ["on" if skip else "off"])


def leads_mark_dirty_from(*, cursor, table: str, where: str = "TRUE") -> None:
    """Mark dirty the leads of `table`'s `lead_id` column (rows matching `where`), in lead order as the trigger does.

    PostgreSQL only; for the leads whose activities were inserted with the dirty marks skipped but that
    the caller does not score itself. `table` and `where` are the caller's constants, never user input.
    Always new marks, even for a lead that has one: marks are append-only (the module docstring says why).
    """
    cursor.execute(
        "INSERT INTO scoring_scoredirty (lead_id, marked_at) "  # noqa: S608 - the caller's constant names
        f"SELECT DISTINCT lead_id, now() FROM {table} WHERE {where} ORDER BY lead_id"
    )


def leads_qualify_ready(*, lead_ids: list[int]) -> int:
    """Qualify and route the sales-ready leads among `lead_ids` under the active definition."""
    version = uld_active()
    if version is None or not lead_ids:
        return 0
    return leads_qualify(version=version, lead_ids=sorted(set(lead_ids)))


@transaction.atomic
def leads_score(*, lead_ids: list[int]) -> int:
    """Score these leads now under the active definition; return how many scores changed."""
    version = uld_active()
    if version is None or not lead_ids:
        return 0
    changed, _ = _score(version=version, now=timezone.now(), lead_ids=sorted(set(lead_ids)))
    return changed


def _dirty_claim(limit: int) -> list[int]:
    """Lock up to `limit` marked leads nobody else holds (in primary-key order), delete their marks, return them.

    Leads first, marks second (the module's lock order); the leads stay locked until the caller commits,
    FOR NO KEY UPDATE like every lead lock (the module docstring says why), which the sales-ready
    hand-off later in the same transaction takes again without waiting. Deletes only the marks this
    statement sees: one a writer has not committed yet survives for the next run (marks are append-only).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH claimed AS MATERIALIZED (SELECT l.id FROM leads_lead l "
                "WHERE l.id IN (SELECT d.lead_id FROM scoring_scoredirty d) "
                "ORDER BY l.id LIMIT %s FOR NO KEY UPDATE OF l SKIP LOCKED) "
                "DELETE FROM scoring_scoredirty d USING claimed WHERE d.lead_id = claimed.id RETURNING d.lead_id",
                [limit],
            )
            # A lead whose marks another scorer deleted meanwhile returns none: that scorer scored it.
            return sorted({row[0] for row in cursor.fetchall()})
    ids = list(ScoreDirty.objects.order_by("lead_id").values_list("lead_id", flat=True).distinct()[:limit])
    mark_ids = list(ScoreDirty.objects.filter(lead_id__in=ids).values_list("pk", flat=True))
    # A lead may have many marks (one per activity here: SQLite has no statement triggers), and SQLite
    # limits a statement's parameters.
    for start in range(0, len(mark_ids), DIRTY_BATCH):
        ScoreDirty.objects.filter(pk__in=mark_ids[start : start + DIRTY_BATCH]).delete()
    return ids


def score_dirty_process(*, batch_size: int = DIRTY_BATCH, max_batches: int = 50) -> int:
    """Score the leads marked dirty by new activity, a batch per transaction; return the scores changed.

    Claiming deletes the marks in the same transaction as the scoring, so a failure puts them back.
    """
    version = uld_active()
    if version is None:
        return 0
    changed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = _dirty_claim(batch_size)
            if not ids:
                break
            changed += _score(version=version, now=timezone.now(), lead_ids=ids, locked=True)[0]
    return changed


@transaction.atomic
def rescore_run_start(*, reason: str, chunk_size: int = CHUNK_SIZE, now: dt.datetime | None = None):
    """Record a re-score of every lead under the active version and enqueue its chunks on commit."""
    from .tasks import rescore_chunk

    version = uld_active()
    if version is None:
        return None
    bounds = Lead.objects.aggregate(first=Min("id"), last=Max("id"))
    run = RescoreRun.objects.create(uld_version=version, reason=reason, as_of=now or timezone.now())
    chunks = []
    if bounds["first"] is not None:
        chunks = RescoreChunk.objects.bulk_create(
            RescoreChunk(run=run, first_id=first, last_id=min(first + chunk_size - 1, bounds["last"]))
            for first in range(bounds["first"], bounds["last"] + 1, chunk_size)
        )
    run.chunks_total = len(chunks)
    if not chunks:
        run.status, run.finished_at = RescoreRun.Status.FINISHED, timezone.now()
    run.save(update_fields=["chunks_total", "status", "finished_at"])
    chunk_ids = [c.pk for c in chunks]
    transaction.on_commit(lambda: [rescore_chunk.delay(chunk_id) for chunk_id in chunk_ids])
    return run


@transaction.atomic
def rescore_chunk_process(*, chunk_id: int) -> int:
    """Score one chunk of a run once; a repeat delivery finds it done (or being done) and does nothing."""
    chunk = (
        RescoreChunk.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("run__uld_version")
        .filter(pk=chunk_id, done_at__isnull=True)
        .first()
    )
    if chunk is None or chunk.run.status != RescoreRun.Status.RUNNING:
        return 0
    run, now = chunk.run, timezone.now()
    if run.uld_version.status != ULDStatus.AGREED:
        # A newer version was agreed mid-run; its own run re-scores everyone, so this one must not.
        RescoreRun.objects.filter(pk=run.pk, status=RescoreRun.Status.RUNNING).update(
            status=RescoreRun.Status.SUPERSEDED, finished_at=now
        )
        return 0
    changed, qualified = _score(version=run.uld_version, now=run.as_of, id_bounds=(chunk.first_id, chunk.last_id))
    RescoreChunk.objects.filter(pk=chunk.pk).update(done_at=now, changed=changed)
    RescoreRun.objects.filter(pk=run.pk).update(
        chunks_done=F("chunks_done") + 1,
        leads_changed=F("leads_changed") + changed,
        leads_qualified=F("leads_qualified") + qualified,
    )
    RescoreRun.objects.filter(pk=run.pk, finished_at__isnull=True, chunks_done=F("chunks_total")).update(
        finished_at=timezone.now(), status=RescoreRun.Status.FINISHED
    )
    return changed


FIT_FIELDS = ("label", "field", "operator", "value", "points")
ENGAGEMENT_FIELDS = (
    "label",
    "kind",
    "payload_key",
    "payload_operator",
    "payload_value",
    "points",
    "cap",
    "half_life_days",
    "expires_after_days",
)


@transaction.atomic
def fit_rule_create(*, version: ULDVersion, by, **fields: Any) -> FitRule:
    """Add a fit rule to a draft; a rule that cannot apply is refused with a message naming it."""
    require_editor(by)
    require_draft(ULDVersion.objects.select_for_update().get(pk=version.pk))
    rule = FitRule(uld_version=version, **{k: fields.get(k) for k in FIT_FIELDS})
    fit_rule_check(rule)
    rule.save()
    return rule


@transaction.atomic
def engagement_rule_create(*, version: ULDVersion, by, **fields: Any) -> EngagementRule:
    """Add an engagement rule to a draft; a rule that cannot apply is refused with a message naming it."""
    require_editor(by)
    require_draft(ULDVersion.objects.select_for_update().get(pk=version.pk))
    values = {k: fields.get(k) for k in ENGAGEMENT_FIELDS}
    for key in ("payload_key", "payload_operator", "payload_value"):
        values[key] = (values[key] or "").strip()
    rule = EngagementRule(uld_version=version, **values)
    engagement_rule_check(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, rule: FitRule | EngagementRule, by) -> None:
    require_editor(by)
    require_draft(ULDVersion.objects.select_for_update().get(pk=rule.uld_version_id))
    rule.delete()


def rule_points_set(*, rule: FitRule | EngagementRule, by, points: int) -> None:
    """Change a draft rule's points (the most common tuning)."""
    with transaction.atomic():
        require_editor(by)
        require_draft(ULDVersion.objects.select_for_update().get(pk=rule.uld_version_id))
        rule.points = points
        (fit_rule_check if isinstance(rule, FitRule) else engagement_rule_check)(rule)
        rule.save(update_fields=["points"])
