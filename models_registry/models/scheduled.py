"""Scheduled changes (docs/contract.md §7, "Lifecycle"): a model set to become deprecated or
inactive at a given time, applied by the worker (`worker.steps`) through the normal status
change, recorded in the audit trail with source `schedule`.

A scheduled change is an instruction, not registry data: the row itself keeps who asked
and when, who cancelled and when, and how it ended; the change it makes is audited like
any other. It goes with its model (a part of it, `AIModel.OWNED_RELATIONS`)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from models_registry.choices import ScheduledChangeState, ScheduledStatus
from models_registry.limits import REASON_MAX_LENGTH

ERROR_MAX_LENGTH = 1000


class ScheduledChange(models.Model):
    model = models.ForeignKey("models_registry.AIModel", on_delete=models.CASCADE, related_name="scheduled_changes")
    status = models.CharField(max_length=16, choices=ScheduledStatus.choices)
    at = models.DateTimeField(help_text="When the worker applies it.")
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    state = models.CharField(max_length=10, choices=ScheduledChangeState.choices, default=ScheduledChangeState.PENDING)
    error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True, help_text="Why it failed, when it did.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it was applied, cancelled or failed.")
    finished_by = models.CharField(max_length=150, blank=True, help_text="Who cancelled it.")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # What the worker takes due changes from: only pending rows are in it.
            models.Index(fields=["at"], name="scheduled_change_due", condition=models.Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.model} becomes {self.status} at {self.at:%Y-%m-%d %H:%M} UTC"

    def clean(self):
        if self._state.adding and self.at is not None and self.at <= timezone.now():
            raise ValidationError({"at": "Must be in the future."})
