"""Print where the app runs and the demo logins, as `make run` does before starting."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leads.demo_accounts import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the app's URL and the demo login of each role (the users seed_demo creates)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the web server listens.")

    def handle(self, *args, url: str, **options) -> None:
        self.stdout.write(f"leadops: open {url} and sign in with one of these demo logins:")
        self.stdout.write("")
        self.stdout.write(f"  {'Role':<15} {'Username':<10} {'Password':<14} Team")
        for username, role, team, _first, _last in DEMO_USERS:
            self.stdout.write(f"  {role:<15} {username:<10} {DEMO_PASSWORD:<14} {team or '-'}")
        self.stdout.write("")
        self.stdout.write("The system status page (admin) is at system/status/. Stop everything with Ctrl-C.")
