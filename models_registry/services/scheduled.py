"""Scheduled changes (docs/contract.md §7, "Lifecycle"): scheduling, cancelling, and the
worker's applying of the due ones through the normal status change (`aimodel_set_status`:
the same validation and audit as every door, with source `schedule`).

Several workers may apply at once: a due change is taken with `SELECT ... FOR UPDATE SKIP
LOCKED` (SQLite's writers take turns anyway) and applied in the same transaction, so each
is applied once; one that cannot be applied is marked failed with the reason, and the
others go on."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.choices import ChangeSource
from audit.context import change_context, new_request_id
from models_registry.choices import ScheduledChangeState
from models_registry.models import AIModel, ScheduledChange
from models_registry.models.scheduled import ERROR_MAX_LENGTH
from models_registry.services.aimodels import aimodel_set_status
from models_registry.services.catalog import actor_name

APPLY_BATCH = 50


class NotPendingError(Exception):
    """The scheduled change has already been applied, cancelled or failed."""

    def __init__(self, change: ScheduledChange):
        super().__init__(f"This scheduled change is {change.state}; only a pending one can be cancelled.")
        self.change = change


def scheduled_change_create(*, model: AIModel, status: str, at, actor, reason: str = "") -> ScheduledChange:
    change = ScheduledChange(model=model, status=status, at=at, reason=reason, created_by=actor_name(actor))
    change.full_clean()
    change.save()
    return change


def scheduled_change_cancel(*, change: ScheduledChange, actor) -> ScheduledChange:
    with transaction.atomic():
        current = ScheduledChange.objects.select_for_update().get(pk=change.pk)
        if current.state != ScheduledChangeState.PENDING:
            raise NotPendingError(current)
        current.state = ScheduledChangeState.CANCELLED
        current.finished_at, current.finished_by = timezone.now(), actor_name(actor)
        current.save(update_fields=["state", "finished_at", "finished_by"])
    return current


def _scheduler(change: ScheduledChange):
    """The user who scheduled the change, who the audit entry names (None if gone since)."""
    return get_user_model().objects.filter(username=change.created_by).first() if change.created_by else None


def _apply_one(change: ScheduledChange) -> None:
    reason = f"scheduled change {change.pk}: {change.reason}" if change.reason else f"scheduled change {change.pk}"
    try:
        with transaction.atomic():  # a failed change rolls back alone: its row is marked below
            aimodel_set_status(model=change.model, status=change.status, actor=_scheduler(change), reason=reason)
        change.state = ScheduledChangeState.DONE
    except ValidationError as error:
        messages = [f"{field}: {' '.join(texts)}" for field, texts in error.message_dict.items()]
        change.state, change.error = ScheduledChangeState.FAILED, "; ".join(messages)[:ERROR_MAX_LENGTH]
    change.finished_at = timezone.now()
    change.save(update_fields=["state", "error", "finished_at"])


def apply_due_scheduled_changes() -> int:
    """Apply up to APPLY_BATCH due changes, oldest first, each with a request id of its own.
    Returns how many were taken (applied or failed)."""
    with transaction.atomic():
        due = list(
            ScheduledChange.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=ScheduledChangeState.PENDING, at__lte=timezone.now())
            .select_related("model")
            .order_by("at", "pk")[:APPLY_BATCH]
        )
        for change in due:
            with change_context(source=ChangeSource.SCHEDULE, request_id=new_request_id(), request=None):
                _apply_one(change)
    return len(due)
