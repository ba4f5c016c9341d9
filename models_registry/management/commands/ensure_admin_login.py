"""Create an admin login when there is none, and print it (used by `make run`)."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser with a random password if no superuser exists, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(f"Admin login exists: {existing.get_username()} (password unchanged).")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS("Created an admin login for http://127.0.0.1:8000/admin/"))
        self.stdout.write(f"  username: {username}")
        self.stdout.write(f"  password: {password}")
