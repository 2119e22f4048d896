"""Exit non-zero when a component is down: the container health check of beat (and a shell check)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from leads.selectors_system import system_status


class Command(BaseCommand):
    help = "Check one component of the system status page (web, database, broker, worker, beat)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("component", choices=["web", "database", "broker", "worker", "beat"])

    def handle(self, *args, component: str, **options) -> None:
        readings = {reading.name: reading for reading in system_status()}
        reading = readings.get(component)
        if reading is None:
            # system_status stops after a failed database check: everything after it is unknown.
            raise CommandError(f"{component}: unknown, the database is down ({readings['database'].detail})")
        if not reading.up:
            last_seen = f"last seen {reading.last_seen:%Y-%m-%d %H:%M:%S}" if reading.last_seen else reading.detail
            raise CommandError(f"{component}: down ({last_seen})")
        self.stdout.write(f"{component}: up ({reading.detail})")
