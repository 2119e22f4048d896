"""Every write of a lead's stage: creation as an inquiry and each later move, each logged once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage, allowed_targets, is_allowed
from leads.models import Lead, SizeBand, StageChange
from leads.models.guard import stage_writes_allowed
from leads.models.lead import normalise_email
from leads.services.webhooks import webhook_deliveries_create
from reporting.days import local_day
from reporting.services import rollups_mark_dirty


def _label(stage: str) -> str:
    return Stage(stage).label if stage in Stage.values else stage or "(none)"


def lead_create(
    *, by=None, stage: str = Stage.INQUIRY, at: dt.datetime | None = None, reason: str = "", **fields: Any
) -> Lead:
    """Create a lead at `stage` (an inquiry unless said otherwise) and log its entry into the funnel."""
    at = at or timezone.now()
    fields["email"] = normalise_email(fields.get("email"))
    if not fields["email"] and not (fields.get("phone") or "").strip():
        raise ApplicationError("A lead needs an email address or a phone number.")
    if fields.get("employees") is not None and not fields.get("size_band"):
        fields["size_band"] = SizeBand.for_employees(fields["employees"])
    if fields["email"]:
        _refuse_duplicate(fields["email"])
    lead = Lead(stage=stage, stage_entered_at=at, created_at=at, **fields)
    try:
        with transaction.atomic(), stage_writes_allowed():
            lead.save()
            StageChange.objects.create(
                lead=lead, from_stage="", to_stage=stage, changed_at=at, changed_by=by, owner=lead.owner, reason=reason
            )
            _rollups_mark(at=at, lead_id=lead.pk)
    except IntegrityError as exc:
        # A concurrent create of the same email lost the race on the unique index.
        _refuse_duplicate(fields["email"], cause=exc)
        raise ApplicationError(f"A lead with the email {fields['email']} already exists.", code="duplicate") from exc
    return lead


def _refuse_duplicate(email: str | None, *, cause: Exception | None = None) -> None:
    """Raise the duplicate error naming the existing lead's id, if a lead has `email`."""
    existing = Lead.objects.filter(email=email).values_list("pk", flat=True).first() if email else None
    if existing is not None:
        raise ApplicationError(
            f"A lead with the email {email} already exists.", code="duplicate", extra={"existing_id": existing}
        ) from cause


@transaction.atomic
def lead_stage_change(
    *,
    lead: Lead,
    to_stage: str,
    by=None,
    reason: str = "",
    at: dt.datetime | None = None,
    expected_stage: str | None = None,
    changes: dict[str, Any] | None = None,
    uld_version=None,
) -> Lead:
    """Move a lead to `to_stage` if the transition table allows it, and log the move.

    `expected_stage` is the stage the caller saw; if someone moved the lead meanwhile the call is refused
    instead of overwriting their work. `changes` are other fields written in the same unit of work
    (owner on assignment, amount on a win). `uld_version` is logged on moves the definition made.
    """
    at = at or timezone.now()
    locked = Lead.objects.locked().get(pk=lead.pk)
    if expected_stage is not None and locked.stage != expected_stage:
        raise ApplicationError(
            f"This lead is now {_label(locked.stage)} (it was {_label(expected_stage)} when you opened it); "
            "someone else changed it. Reload to see the current state.",
            code="conflict",
        )
    if to_stage not in Stage.values:
        raise ApplicationError(f"Unknown stage {to_stage!r}.")
    if not is_allowed(locked.stage, to_stage):
        targets = ", ".join(_label(s) for s in allowed_targets(locked.stage)) or "nothing (it is final)"
        raise ApplicationError(
            f"A lead cannot move from {_label(locked.stage)} to {_label(to_stage)}. "
            f"From {_label(locked.stage)} it can move to: {targets}.",
            code="illegal_transition",
        )
    from_stage = locked.stage
    update = {"stage": to_stage, "stage_entered_at": at, "updated_at": timezone.now(), **(changes or {})}
    with stage_writes_allowed():
        Lead.objects.filter(pk=locked.pk).update(**update)
    for name, value in update.items():
        setattr(lead, name, value)
    lead._loaded_stage = to_stage
    change = StageChange.objects.create(
        lead=lead,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=at,
        changed_by=by,
        owner_id=_owner_id(changes, default=locked.owner_id),
        reason=reason,
        uld_version=uld_version,
    )
    _rollups_mark(at=at, lead_id=lead.pk)
    webhook_deliveries_create(stage_change=change)
    if from_stage == Stage.NURTURE:
        _nurture_leave(lead_id=lead.pk, to_stage=to_stage, by_definition=uld_version is not None, at=at)
    return lead


def _nurture_leave(*, lead_id: int, to_stage: str, by_definition: bool, at: dt.datetime) -> None:
    """End a nurtured lead's enrolment in the move that takes it out of nurture, not at its next step.

    Out of nurture a lead can only become an MQL or be disqualified. An MQL the definition made is the
    conversion nurture exists for (sales-ready); one a person made was picked up by sales by hand.
    """
    from nurture.models import ExitReason  # nurture builds on leads; imported here to keep leads loadable alone
    from nurture.services.enrolment import enrolment_exit

    if to_stage != Stage.MQL:
        reason = ExitReason.LEFT_NURTURE
    else:
        reason = ExitReason.SALES_READY if by_definition else ExitReason.WORKED_BY_SALES
    enrolment_exit(lead_id=lead_id, reason=reason, at=at)


def _owner_id(changes: dict[str, Any] | None, *, default: int | None) -> int | None:
    if not changes or "owner" not in changes:
        return default
    owner = changes["owner"]
    return owner.pk if owner is not None else None


@transaction.atomic
def leads_bulk_create(*, leads: list[Lead], by=None, reason: str = "", batch_size: int = 1000) -> list[Lead]:
    """Insert many new leads and their entries in the stage log in one transaction (imports, demo data).

    Each lead enters at its own `stage` (inquiry unless set) at its `created_at`. The caller has already
    removed duplicates; the unique index refuses any it missed, rolling back the whole batch.
    """
    for lead in leads:
        lead.email = normalise_email(lead.email)
        if lead.employees is not None and not lead.size_band:
            lead.size_band = SizeBand.for_employees(lead.employees)
        lead.stage_entered_at = lead.created_at
    with stage_writes_allowed():
        created = Lead.objects.bulk_create(leads, batch_size=batch_size)
    StageChange.objects.bulk_create(
        [
            StageChange(
                lead_id=lead.pk,
                from_stage="",
                to_stage=lead.stage,
                changed_at=lead.created_at,
                changed_by=by,
                owner_id=lead.owner_id,
                reason=reason,
            )
            for lead in created
        ],
        batch_size=batch_size,
    )
    for lead in created:
        lead._loaded_stage = lead.stage
    return created


@dataclass(frozen=True)
class StageStep:
    """One entry of a lead's past: it entered `to_stage` at `at`, moved by `by_id`, owned by `owner_id` after."""

    to_stage: str
    at: dt.datetime
    by_id: int | None = None
    owner_id: int | None = None
    reason: str = ""


@transaction.atomic
def leads_bulk_create_with_history(
    *, leads: list[Lead], histories: list[list[StageStep]], reason: str = "", batch_size: int = 1000
) -> list[Lead]:
    """Insert new leads that already went through several stages, logging every stage they passed through.

    For demo data and loads from another system. `histories[i]` lists lead i's stages in order: the first
    is its entry into the funnel (logged from ""), each later one must be an allowed transition from the one
    before, at a time not earlier. The lead gets the last stage, entered at its time, and the last owner;
    `created_at` is the first step's time. Any bad history refuses the whole batch.
    """
    if len(leads) != len(histories):
        raise ApplicationError("Each lead needs exactly one stage history.")
    for index, (lead, steps) in enumerate(zip(leads, histories, strict=True)):
        _check_history(steps, where=f"Lead {index + 1} ({lead.email or lead.phone or 'no contact'})")
        lead.email = normalise_email(lead.email)
        if not lead.email and not (lead.phone or "").strip():
            raise ApplicationError(f"Lead {index + 1} needs an email address or a phone number.")
        if lead.employees is not None and not lead.size_band:
            lead.size_band = SizeBand.for_employees(lead.employees)
        lead.stage = steps[-1].to_stage
        lead.stage_entered_at = steps[-1].at
        lead.created_at = steps[0].at
        lead.owner_id = steps[-1].owner_id
    with stage_writes_allowed():
        created = Lead.objects.bulk_create(leads, batch_size=batch_size)
    log = []
    for lead, steps in zip(created, histories, strict=True):
        previous = ""
        for step in steps:
            log.append(
                StageChange(
                    lead_id=lead.pk,
                    from_stage=previous,
                    to_stage=step.to_stage,
                    changed_at=step.at,
                    changed_by_id=step.by_id,
                    owner_id=step.owner_id,
                    reason=step.reason or reason,
                )
            )
            previous = step.to_stage
        lead._loaded_stage = lead.stage
    StageChange.objects.bulk_create(log, batch_size=batch_size)
    return created


def _check_history(steps: list[StageStep], *, where: str) -> None:
    if not steps:
        raise ApplicationError(f"{where} has no stage history.")
    for step in steps:
        if step.to_stage not in Stage.values:
            raise ApplicationError(f"{where}: unknown stage {step.to_stage!r}.")
    for before, after in zip(steps, steps[1:], strict=False):
        if not is_allowed(before.to_stage, after.to_stage):
            raise ApplicationError(
                f"{where}: a lead cannot move from {_label(before.to_stage)} to {_label(after.to_stage)}."
            )
        if after.at < before.at:
            raise ApplicationError(f"{where}: its move to {_label(after.to_stage)} is dated before the stage it left.")


# The columns `leads_stage_new` reads from the caller's staging table, in this order.
STAGING_LEAD_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "title",
    "company_name",
    "website",
    "industry",
    "employees",
    "size_band",
    "country",
    "region",
    "extra",
)


# The temporary copy of the lead table that `leads_stage_new` fills and `leads_insert_staged` empties.
NEW_LEADS_TABLE = "_leadops_new_leads"


def lead_ids_reserve(*, cursor, count: int) -> list[int]:
    """Draw `count` ids from the lead table's sequence, ascending, for leads `leads_stage_new` will stage."""
    # The sequence is looked up once: written inside nextval(), pg_get_serial_sequence and the cast to
    # regclass ran for every row, ten times the cost of the nextval calls themselves.
    cursor.execute(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('leads_lead', 'id')::regclass AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
        [count],
    )
    return sorted(row[0] for row in cursor.fetchall())


def leads_stage_new(*, cursor, table: str, source_channel: str, campaign_id: int | None, at: dt.datetime) -> None:
    """Stage the rows of `table` whose `action` is 'created' as new inquiries in NEW_LEADS_TABLE, in SQL.

    PostgreSQL only, for imports, where building a model instance per row costs more than the insert.
    `table` is a temporary table the caller filled with COPY (columns STAGING_LEAD_COLUMNS, `lead_id`
    with ids from `lead_ids_reserve`, and `action`), already deduplicated, emails normalised. The staged
    leads are not in the lead table yet: the caller may write rows that point at them (foreign keys are
    checked at commit) and fill columns such as the score, then calls `leads_insert_staged` in the same
    transaction.
    """
    columns = ", ".join(STAGING_LEAD_COLUMNS)
    cursor.execute(f"DROP TABLE IF EXISTS {NEW_LEADS_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {NEW_LEADS_TABLE} (LIKE leads_lead INCLUDING DEFAULTS) ON COMMIT DROP")
    cursor.execute(
        f"""
        INSERT INTO {NEW_LEADS_TABLE} (id, {columns}, company_domain, budget, authority, need, timeframe,
            source_channel, campaign_id, owner_id, stage, stage_entered_at, score, grade, created_at, updated_at,
            sales_touches, nurture_touches)
        SELECT lead_id, {columns}, '', NULL, '', '', '', %(channel)s, %(campaign)s, NULL, %(stage)s, %(at)s, 0, '',
            %(at)s, %(at)s, 0, 0
        FROM {table} WHERE action = 'created'
        """,  # noqa: S608 - table and columns are the caller's constants, values are parameters
        {"channel": source_channel, "campaign": campaign_id, "stage": Stage.INQUIRY, "at": at},
    )


def leads_insert_staged(*, cursor, at: dt.datetime, by=None, reason: str = "") -> None:
    """Insert the leads `leads_stage_new` staged, and log their entry, with one statement each."""
    cursor.execute(
        f"""
        WITH new AS (
            INSERT INTO leads_lead SELECT * FROM {NEW_LEADS_TABLE} ORDER BY id RETURNING id
        )
        INSERT INTO leads_stagechange (lead_id, from_stage, to_stage, changed_at, changed_by_id, owner_id, reason)
        SELECT id, '', %(stage)s, %(at)s, %(by)s, NULL, %(reason)s FROM new ORDER BY id
        """,  # noqa: S608 - the table is a constant
        {"stage": Stage.INQUIRY, "at": at, "by": by.pk if by is not None else None, "reason": reason},
    )


def _rollups_mark(*, at: dt.datetime, lead_id: int) -> None:
    """Tell the dashboard's rollups which day and lead changed, in the same transaction as the change.

    Bulk paths (imports, demo data) skip this: the rollup refresh finds unmarked log rows by itself.
    """
    rollups_mark_dirty(day=local_day(at), lead_ids=[lead_id])
