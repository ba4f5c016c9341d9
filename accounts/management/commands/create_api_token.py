"""python manage.py create_api_token USERNAME [--expires-in-days N] — the token is the last stdout line."""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_token_create
from audit.context import change_context, new_request_id
from common.parsing import integer_argument


def expiry(days: int | None) -> datetime.timedelta | None:
    if days is None:
        return None
    if days < 1:
        raise CommandError("--expires-in-days must be at least 1.", returncode=2)
    return datetime.timedelta(days=days)


class Command(BaseCommand):
    help = "Create an API token for an existing user and print it (the last line of output)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires-in-days", type=integer_argument, dest="expires_in_days")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, username, expires_in_days, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.", returncode=2)
        with change_context(request_id=new_request_id()):
            token, key = api_token_create(user=user, expires_in=expiry(expires_in_days), name=name)
        until = f"until {token.expiry:%Y-%m-%d %H:%M} UTC" if token.expiry else "without expiry"
        self.stderr.write(f"Token for {username!r}, valid {until}. It is shown once:")
        self.stdout.write(key)
