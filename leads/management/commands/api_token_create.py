"""Issue an API token from the command line (for setting up an integration); prints the token once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leadops.errors import ApplicationError
from leads.models import APITokenKind
from leads.services.api_tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token acting as --user. The last line of the output is the bare token (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the token acts as.")
        parser.add_argument("--name", required=True, help="What uses the token.")
        parser.add_argument(
            "--scopes", required=True, help="Comma- or space-separated scopes, e.g. events:write (or * if personal)."
        )
        parser.add_argument("--kind", choices=APITokenKind.values, default=APITokenKind.PERSONAL)

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.")
        scopes = options["scopes"].replace(",", " ").split()
        try:
            issued = api_token_create(user=user, by=user, name=options["name"], scopes=scopes, kind=options["kind"])
        except ApplicationError as exc:
            raise CommandError(exc.message)
        token = issued.token
        self.stderr.write(
            f"Created {token.get_kind_display().lower()} token “{token.name}” for {user.get_username()} "
            f"with scopes {', '.join(token.scopes)}. Store it now: it is not shown again."
        )
        self.stdout.write(issued.secret)
