"""History retention: the one sanctioned way rows leave the append-only logs.

Deletes historical records older than a cutoff, keeping each object's latest historical
record (the base of its next diff), and the oldest part of the audit chain: the entries
linked before the first one at or after the cutoff, with their links, so what is left is
still one unbroken chain. The run records itself as an audit entry that names the digest
the kept chain now starts after (`CHAIN_START`), which is how the verifier knows the
missing beginning was pruned rather than cut off.

`manage.py prune_history` runs it as the database owner (`DATABASE_OWNER_URL`, see
`audit.database_roles`): on PostgreSQL the append-only trigger lets a DELETE through only
for a member of the table owner's role that has switched retention on for its
transaction; the app's role is neither, and has no DELETE privilege on the logs anyway.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, Min

from audit.append_only import append_only_models
from audit.chain import chain_links
from audit.choices import AuditAction
from audit.models import AuditEntry, AuditLink, HistoryStamp
from audit.writer import record_log_entry
from common.compat import raw_delete

# The key in a retention entry's `changes` naming where the kept chain starts.
CHAIN_START = "audit chain start"
# A retention entry's object type; its object id is the cutoff (ISO 8601).
RETENTION_OBJECT_TYPE = "history"


@dataclass
class RetentionResult:
    cutoff: object
    deleted: dict  # table label -> rows


def _chain_cut(before) -> int:
    """The last chain position to prune: every link before the first entry kept."""
    links = AuditLink.objects.all()
    kept = AuditEntry.objects.filter(timestamp__gte=before).values("pk")
    first_kept = links.filter(entry_id__in=kept).aggregate(first=Min("position"))["first"]
    if first_kept is not None:
        return first_kept - 1
    return links.aggregate(last=Max("position"))["last"] or 0


def prune_history(*, before, dry_run: bool = False) -> RetentionResult:
    history_models = [m for m in append_only_models() if issubclass(m, HistoryStamp)]
    with transaction.atomic(), chain_links():
        cut = _chain_cut(before)
        pruned_links = AuditLink.objects.filter(position__lte=cut)
        last_pruned = pruned_links.filter(position=cut).values_list("digest", flat=True).first()
        plans = {
            AuditEntry._meta.label: AuditEntry.objects.filter(pk__in=pruned_links.values("entry_id")),
            AuditLink._meta.label: pruned_links,
        }
        for model in history_models:
            rows = model._base_manager.all()
            latest = rows.values("id").annotate(last=Max("history_id")).values("last")
            plans[model._meta.label] = rows.filter(history_date__lt=before).exclude(history_id__in=latest)
        counts = {label: queryset.count() for label, queryset in plans.items()}
        if dry_run:
            return RetentionResult(before, counts)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL llm_admin.retention = 'on'")
        for queryset in plans.values():
            raw_delete(queryset)  # QuerySet.delete() is refused on log models, on purpose
        changes = {label: {"old": count, "new": 0} for label, count in counts.items() if count}
        if last_pruned is not None:
            changes[CHAIN_START] = {"old": None, "new": {"position": cut, "digest": last_pruned}}
        record_log_entry(
            action=AuditAction.DELETE,
            object_type=RETENTION_OBJECT_TYPE,
            object_id=before.isoformat(),
            object_repr=f"history before {before.isoformat()}",
            changes=changes,
        )
    return RetentionResult(before, counts)
