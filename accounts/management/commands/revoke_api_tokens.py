"""python manage.py revoke_api_tokens USERNAME — revokes all of the user's tokens."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_tokens_revoke
from audit.context import change_context, new_request_id


class Command(BaseCommand):
    help = "Revoke every API token of a user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.", returncode=2)
        with change_context(request_id=new_request_id()):
            count = api_tokens_revoke(user=user)
        self.stdout.write(f"Revoked {count} token(s) of {username!r}.")
