"""`python manage.py webhook_status`: the delivery queue per subscription, as a table or JSON."""

import json

from django.core.management.base import BaseCommand

from webhooks.selectors import queue_states

COLUMNS = ["subscription", "active", "behind", "due", "retrying", "delivered", "failed", "oldest_pending", "last_error"]


class Command(BaseCommand):
    help = "Show each webhook subscription's queue: entries not yet dispatched, deliveries due, retrying, done."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, format, **options):
        rows = [
            {
                "subscription": state.subscription.name,
                "active": state.subscription.active,
                "behind": state.events_behind,
                "due": state.due,
                "retrying": state.retrying,
                "delivered": state.delivered,
                "failed": state.failed,
                "oldest_pending": state.oldest_pending.isoformat() if state.oldest_pending else None,
                "last_error": state.last_error or state.subscription.disabled_reason,
            }
            for state in queue_states()
        ]
        if format == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No webhook subscriptions.")
            return
        table = [COLUMNS] + [["" if row[name] is None else str(row[name]) for name in COLUMNS] for row in rows]
        widths = [min(max(len(line[index]) for line in table), 60) for index in range(len(COLUMNS))]
        for line in table:
            self.stdout.write(
                "  ".join(cell[:60].ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            )
