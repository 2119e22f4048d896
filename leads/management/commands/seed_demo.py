"""`manage.py seed_demo`: load the demo logins and a few thousand realistic leads, once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from leadops.errors import ApplicationError
from leads.demo_accounts import DEMO_PASSWORD
from leads.services.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo users, teams, trade-show campaigns and leads (does nothing if already seeded)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=3000, help="how many leads (default 3000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    def handle(self, *args, leads: int, seed: int, **options):
        try:
            result = demo_seed(leads=leads, seed=seed)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not result.created:
            self.stdout.write("Demo data is already there; nothing changed.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.users} demo users (password {DEMO_PASSWORD!r}), {result.leads:,} leads, "
                f"{result.stage_changes:,} stage changes, {result.activities:,} activities, {result.won} won deals."
            )
        )
