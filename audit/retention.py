"""History retention: the one sanctioned way rows leave the append-only logs.

Deletes audit entries and historical records older than a cutoff, keeping each object's
latest historical record (the base of its next diff), and records the run itself as an
audit entry. On PostgreSQL it lifts the append-only trigger for its own transaction only.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit.append_only import append_only_models
from audit.choices import AuditAction
from audit.context import current_change
from audit.models import AuditEntry, HistoryStamp


@dataclass
class RetentionResult:
    cutoff: object
    deleted: dict  # table label -> rows


def prune_history(*, before, dry_run: bool = False) -> RetentionResult:
    history_models = [m for m in append_only_models() if issubclass(m, HistoryStamp)]
    with transaction.atomic():
        plans = {AuditEntry._meta.label: AuditEntry.objects.filter(timestamp__lt=before)}
        for model in history_models:
            latest = model._base_manager.values("id").annotate(last=Max("history_id")).values("last")
            plans[model._meta.label] = model._base_manager.filter(history_date__lt=before).exclude(
                history_id__in=latest
            )
        counts = {label: queryset.count() for label, queryset in plans.items()}
        if dry_run:
            return RetentionResult(before, counts)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL llm_admin.retention = 'on'")
        for queryset in plans.values():
            queryset._raw_delete(queryset.db)  # QuerySet.delete() is refused on log models, on purpose
        context = current_change()
        AuditEntry.objects.create(
            timestamp=timezone.now(),
            user_id=context.user_id,
            username=context.username,
            action=AuditAction.DELETE,
            object_type="history",
            object_id=before.isoformat(),
            object_repr=f"history before {before.isoformat()}",
            changes={label: {"old": count, "new": 0} for label, count in counts.items() if count},
            reason=context.reason,
            source=context.source,
            request_id=context.request_id,
        )
    return RetentionResult(before, counts)
