"""python manage.py create_service_account NAME --role viewer|editor|admin

Creates or updates a non-interactive user in that role and prints a new token: the last
line of standard output is the token, and nothing else."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.management.commands.create_api_token import expiry
from accounts.roles import ROLE_GROUPS
from accounts.services import api_token_create, service_account_save
from audit.context import change_context, new_request_id
from common.parsing import integer_argument


class Command(BaseCommand):
    help = "Create or update a service account in a role and print a new API token (the last line)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=list(ROLE_GROUPS))
        parser.add_argument("--expires-in-days", type=integer_argument, dest="expires_in_days")

    def handle(self, *args, name, role, expires_in_days, **options):
        expires_in = expiry(expires_in_days)  # checked before anything is written
        with change_context(request_id=new_request_id()), transaction.atomic():  # the account and its token, or neither
            user = service_account_save(name=name, role=role)
            _, key = api_token_create(user=user, expires_in=expires_in, name=f"{role} service account")
        self.stderr.write(f"Service account {user.username!r} is in {ROLE_GROUPS[role]}. The token is shown once:")
        self.stdout.write(key)
