"""python manage.py prune_history --before DATE [--dry-run] [--actor USERNAME] [--reason ...]"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.database_roles import owner_connection
from audit.management.runs import EXIT_BAD_INPUT, add_actor_arguments, command_run
from audit.retention import prune_history
from common.parsing import parse_datetime


class Command(BaseCommand):
    help = (
        "Delete audit entries and history records older than --before (keeping each object's latest "
        "record) and the oldest part of the audit chain. The only way rows leave the logs; the run is itself audited. "
        "Connects as DATABASE_OWNER_URL when set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="YYYY-MM-DD or an ISO 8601 date-time (UTC if naive).")
        parser.add_argument("--dry-run", action="store_true")
        add_actor_arguments(parser)

    def handle(self, *args, before, dry_run, actor, reason, **options):
        try:
            cutoff = parse_datetime(before)
        except ValueError as error:
            raise CommandError(f"--before: {before!r}: {error}", returncode=EXIT_BAD_INPUT) from error
        if timezone.is_naive(cutoff):
            cutoff = timezone.make_aware(cutoff, datetime.UTC)
        if cutoff > timezone.now():
            raise CommandError("--before must be in the past.", returncode=EXIT_BAD_INPUT)
        # As the owner of the tables: the app's role may not delete log rows.
        with owner_connection(), command_run(actor=actor, reason=reason):
            result = prune_history(before=cutoff, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for label, count in result.deleted.items():
            self.stdout.write(f"{label}: {verb} {count}")
