"""The fallback of bench/generate.py on databases without COPY (SQLite): the lifecycle service's bulk path."""

from __future__ import annotations

import time

from bench.generate_rows import BENCH_SOURCE, Generator
from bench.timing import Timer


def orm_fallback(*, gen: Generator, chunk: int, truncate: bool, timer: Timer) -> dict[str, int]:
    """Write through the lifecycle service's bulk history helper (SQLite: tests and small demos)."""
    from django.db import transaction
    from django.db.models import Max

    from leads.models import Activity, Lead, StageChange
    from leads.services.lifecycle import StageStep, leads_bulk_create_with_history

    counts = {"leads": 0, "stage_changes": 0, "activities": 0}
    clock = gen.clock
    with transaction.atomic():
        if truncate:
            Activity.objects.all().delete()
            StageChange.objects.all().delete()
            Lead.objects.all().delete()
        # E-mails carry this number: above every existing id, so appended runs never repeat an address.
        base = Lead.objects.aggregate(top=Max("pk"))["top"] or 0
        for index in range(0, gen.n, chunk):
            count = min(chunk, gen.n - index)
            t = time.perf_counter()
            specs, rows = gen.chunk(index=index, count=count, first_id=base + 1 + index, first_activity_id=0)
            timer.add("generate (python)", time.perf_counter() - t)
            t = time.perf_counter()
            objs, histories = [], []
            for s in specs:
                c = s.company
                objs.append(
                    Lead(
                        first_name=s.first_name, last_name=s.last_name, email=s.email, phone=s.phone,
                        title=s.title, company_name=c.name, website=f"https://www.{c.domain}",
                        company_domain=c.domain, employees=c.employees, size_band=c.size_band, industry=c.industry,
                        country=c.country, region=c.region, budget=s.budget, authority=s.authority, need=s.need,
                        timeframe=s.timeframe, source_channel=s.channel, campaign_id=s.campaign_id,
                        score=s.score, grade=s.grade, sales_touches=s.sales_touches,
                        nurture_touches=s.nurture_touches,
                        last_touch_at=clock.datetime(s.last_touch) if s.last_touch is not None else None,
                        next_follow_up_at=clock.datetime(s.follow_up) if s.follow_up is not None else None,
                    )
                )  # fmt: skip
                owner = None
                steps = []
                for stage, at in zip(s.path, s.times, strict=True):
                    if stage == gen.dg.OWNED_FROM and s.owner_id:
                        owner = s.owner_id
                    by = owner if (owner and steps) else None
                    steps.append(StageStep(to_stage=stage, at=clock.datetime(at), by_id=by, owner_id=owner))
                histories.append(steps)
            created = leads_bulk_create_with_history(leads=objs, histories=histories, reason="")
            timer.add("leads + stage log (orm)", time.perf_counter() - t, len(created))
            counts["leads"] += len(created)
            counts["stage_changes"] += sum(len(h) for h in histories)
            t = time.perf_counter()
            id_of = {s.id: lead.pk for s, lead in zip(specs, created, strict=True)}
            Activity.objects.bulk_create(
                [
                    Activity(
                        lead_id=id_of[lead_id], kind=kind, occurred_at=clock.datetime(at),
                        created_at=clock.datetime(at), recorded_by_id=by, source=BENCH_SOURCE, payload={},
                    )
                    for _, lead_id, kind, at, by in rows
                ],
                batch_size=2000,
            )  # fmt: skip
            timer.add("activities (orm)", time.perf_counter() - t, len(rows))
            counts["activities"] += len(rows)
    return counts
