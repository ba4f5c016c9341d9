"""python manage.py audit_log [--since] [--until] [--user] [--action] [--object-type] [--object-id] [--source]
[--format csv|json]"""

import json
from contextlib import closing

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from audit.choices import AuditAction, ChangeSource
from audit.exports import audit_csv
from audit.filtersets import AuditEntryFilterSet
from audit.models import AuditEntry


def entry_json(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "timestamp": entry.timestamp.isoformat(),
        "user": entry.username or None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "reason": entry.reason,
        "source": entry.source,
        "request_id": entry.request_id,
    }


class Command(BaseCommand):
    help = "Print the audit log, newest first, as CSV or JSON lines, with the same filters as the API."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="ISO 8601 date-time, inclusive.")
        parser.add_argument("--until", help="ISO 8601 date-time, inclusive.")
        parser.add_argument("--user", help="Username.")
        parser.add_argument("--action", choices=AuditAction.values)
        parser.add_argument("--object-type", dest="object_type", help="e.g. aimodel, provider.")
        parser.add_argument("--object-id", dest="object_id")
        parser.add_argument("--source", choices=ChangeSource.values)
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, format, **options):
        params = QueryDict(mutable=True)
        for name in ("since", "until", "user", "action", "object_type", "object_id", "source"):
            if options.get(name) is not None:
                params[name] = options[name]
        filterset = AuditEntryFilterSet(params, queryset=AuditEntry.objects.all())
        if not filterset.is_valid():
            problems = "; ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in filterset.errors.items())
            raise CommandError(problems, returncode=2)
        entries = filterset.qs
        lines = (
            audit_csv(entries)
            if format == "csv"
            else (json.dumps(entry_json(e), ensure_ascii=False) + "\n" for e in entries.iterator(chunk_size=2000))
        )
        with closing(lines):  # on any exit, e.g. a closed pipe, while the database is still open
            for line in lines:
                self.stdout.write(line, ending="")
