"""Webhook subscriptions, the deliveries they are owed, and every attempt to make one.

A subscription is configuration people change, so it is audited like the registry
(history, audit entry, chain link); its delivery state (`cursor`, `failing_since`) moves with
every dispatch and is left out of the history. Deliveries and attempts are working data:
never audited, removed with their subscription.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from audit.choices import EventType
from audit.history import AuditedHistory
from models_registry.models.base import RegistryModel
from webhooks.addresses import url_problem
from webhooks.choices import DeliveryState

URL_MAX_LENGTH = 2000
NAME_MAX_LENGTH = 200
ERROR_MAX_LENGTH = 500
RESPONSE_EXCERPT_MAX_CHARS = 1000


class WebhookSubscription(RegistryModel):
    """Someone to tell about changes: where, which events, and the secret that signs them.

    Filters combine with AND; an empty one lets everything through. `providers` and
    `aimodels` (the API's `models`) hold `{"id", "name"}` pairs: events are matched on the
    id (it survives a rename, and a deleted object's id still names its own deletion
    event); the name is how it was given, shown once the object no longer exists.
    """

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    url = models.CharField(max_length=URL_MAX_LENGTH)
    types = models.JSONField(default=list, blank=True, help_text="Event types to send; none: all of them.")
    providers = models.JSONField(default=list, blank=True, help_text="Only changes concerning these providers.")
    aimodels = models.JSONField(default=list, blank=True, help_text="Only changes to these models.")
    dependent = models.CharField(
        max_length=200, blank=True, help_text="Only models this component (its component name) depends on."
    )
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)
    # The signing secret, encrypted (webhooks.encryption): never shown after creation.
    secret = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Delivery state, written by the worker only (QuerySet.update, outside the history): the
    # chain position of the last event dispatched, and since when deliveries fail.
    cursor = models.BigIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)

    history = AuditedHistory(excluded_fields=["secret", "cursor", "failing_since", "updated_at"])

    LABEL_FIELDS = ("name",)
    # What the admin and the API may change; the services save exactly these.
    CONFIGURATION = ("name", "url", "types", "providers", "aimodels", "dependent", "active", "disabled_reason")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def change_event_type(cls, action: str, changes) -> str:
        return ""  # a subscription is not part of the registry: its changes are audited, not events

    def clean(self):
        errors = {}
        problem = url_problem(self.url)
        if problem:
            errors["url"] = problem
        unknown = [value for value in self.types if value not in EventType.values]
        if not isinstance(self.types, list) or unknown:
            errors["types"] = (
                f"Unknown event types: {', '.join(map(repr, unknown))}. Choose from {', '.join(EventType.values)}."
            )
        if errors:
            raise ValidationError(errors)
        if self.active:
            self.disabled_reason = ""


class WebhookDelivery(models.Model):
    """One event owed to one subscription: made once (unique per subscription and event),
    then attempted until it is delivered or given up.

    A worker claims a due delivery by moving `next_attempt_at` on by a lease and counting
    the attempt, in one transaction; if it dies before recording the answer, the delivery
    is due again when the lease ends. `attempts` fences the record: an answer is written
    only by the claim that made that attempt."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    # The event's audit chain position and entry (its payload is built from them when sent);
    # null for a test event, whose payload is kept here instead.
    position = models.BigIntegerField(null=True, blank=True)
    entry_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event")
        ]
        indexes = [
            # What the workers claim from: only pending rows are in it.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(state="pending")),
            # What the worker prunes from: only finished rows are in it.
            models.Index(fields=["created_at"], name="webhook_delivery_finished", condition=~models.Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.subscription_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery, as it went: when, the answer's status, how long, what failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_records")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
