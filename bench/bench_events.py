"""Benchmark the events API's store path (not a test: it prints ratios against baselines of the same run).

    createdb -h 127.0.0.1 -U postgres leadops_events_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_events_bench python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_events_bench python bench/bench_events.py [--events 500]

Through Django's test client (the whole view: parsing, validation, the insert, the replay check), with
the hand-over to the broker disabled unless said, it measures per event:

1. `--events` single-event requests (the baseline);
2. one batch of `--events` (ratio to 1: what batching saves);
3. the same batch again, a pure replay (ratio to 2: the cost of idempotency on a retry);
4. single-event requests while the broker refuses connections (a closed port), hand-over enabled
   (ratio to 1: what a stopped Redis costs a request; it should stay near 1).

It creates a superuser `bench_events` and deletes the events it wrote (by key prefix) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from leadops.celery import app
    from leads.models import Event
    from leads.services import events as events_service

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(username="bench_events", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    run = uuid.uuid4().hex[:8]
    real_hand_over = events_service.events_hand_over
    events_service.events_hand_over = lambda *, event_ids: True

    def event(prefix: str, i: int) -> dict:
        return {"id": f"bench-{run}-{prefix}-{i}", "type": "web_visit", "email": f"bench{i}@events.example",
                "properties": {"url": f"/page/{i % 40}"}}  # fmt: skip

    def post(body: dict) -> None:
        response = client.post("/api/events/", data=json.dumps(body), content_type="application/json")
        assert response.status_code in {200, 202}, response.content

    def timed(label: str, work) -> float:
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        print(f"  {label:<48} {seconds:8.3f} s  {seconds / args.events * 1000:8.3f} ms/event")
        return seconds / args.events

    n = args.events
    print(f"events API, {n} events per part")
    single = timed("1. single-event requests", lambda: [post(event("single", i)) for i in range(n)])
    batch_body = {"events": [event("batch", i) for i in range(n)]}
    batch = timed("2. one batch", lambda: post(batch_body))
    replay = timed("3. the same batch again (replay)", lambda: post(batch_body))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    events_service.events_hand_over = real_hand_over
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port}/0"
    down = timed("4. single-event requests, broker refusing", lambda: [post(event("down", i)) for i in range(n)])

    print(f"  batch / single per event:          {batch / single:6.3f}")
    print(f"  replay / first batch per event:    {replay / batch:6.3f}")
    print(f"  broker refusing / single:          {down / single:6.3f}")
    Event.objects.filter(key__startswith=f"bench-{run}-").delete()


if __name__ == "__main__":
    main()
