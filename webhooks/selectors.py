"""Reads about webhooks: the names a subscription's filters are given in, resolved to the
registry's ids and back, and the state of the delivery queue."""

from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from models_registry.folding import fold
from models_registry.models import AIModel, Provider
from models_registry.selectors import aimodels_by_name
from webhooks.choices import DeliveryState
from webhooks.dispatch import newest_position
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def providers_named(slugs: list[str]) -> tuple[list[dict], list[str]]:
    """([{"id", "name"}] of the providers with these slugs, in the order given, without
    repeats; [the slugs no provider has])."""
    found = {provider.slug: provider for provider in Provider.objects.filter(slug__in=slugs)}
    pairs, unknown = [], []
    for slug in dict.fromkeys(slugs):
        provider = found.get(slug)
        if provider is None:
            unknown.append(slug)
        elif provider.pk not in {pair["id"] for pair in pairs}:
            pairs.append({"id": provider.pk, "name": provider.slug})
    return pairs, unknown


def models_named(names: list[str]) -> tuple[list[dict], list[str]]:
    """([{"id", "name"}] of the models with these names or aliases (any case), in the order
    given, without repeats; [the names no model has])."""
    found = aimodels_by_name(names)
    pairs, unknown = [], []
    for name in dict.fromkeys(names):
        model = found.get(fold(name))
        if model is None:
            unknown.append(name)
        elif model.pk not in {pair["id"] for pair in pairs}:
            pairs.append({"id": model.pk, "name": model.name})
    return pairs, unknown


def current_names(pairs: list[dict], model) -> list[str]:
    """The names of `pairs` as they are now (a slug or a name may have changed since the
    filter was set), or as they were given when the object no longer exists."""
    field = "slug" if model is Provider else "name"
    now = dict(model.objects.filter(pk__in=[pair["id"] for pair in pairs]).values_list("pk", field))
    return [now.get(pair["id"], pair["name"]) for pair in pairs]


def provider_names(subscription: WebhookSubscription) -> list[str]:
    return current_names(subscription.providers, Provider)


def model_names(subscription: WebhookSubscription) -> list[str]:
    return current_names(subscription.aimodels, AIModel)


def attempts_of(subscription: WebhookSubscription):
    """Every attempt to deliver to `subscription`, newest first."""
    return (
        WebhookAttempt.objects.filter(delivery__subscription=subscription)
        .select_related("delivery")
        .order_by("-at", "-id")
    )


@dataclass(frozen=True)
class QueueState:
    """Where one subscription's deliveries stand (`webhook_status`, the admin)."""

    subscription: WebhookSubscription
    events_behind: int  # events committed after its cursor, not yet looked at
    due: int  # pending and due now
    retrying: int  # pending, waiting for a later attempt
    delivered: int
    failed: int
    oldest_pending: object  # when the oldest pending delivery was made, or None
    last_error: str


def queue_states() -> list[QueueState]:
    now = timezone.now()
    newest = newest_position()
    counts = {
        row["subscription"]: row
        for row in WebhookDelivery.objects.values("subscription").annotate(
            due=Count("pk", filter=Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)),
            retrying=Count("pk", filter=Q(state=DeliveryState.PENDING, next_attempt_at__gt=now)),
            delivered=Count("pk", filter=Q(state=DeliveryState.DELIVERED)),
            failed=Count("pk", filter=Q(state=DeliveryState.FAILED)),
            oldest_pending=Min("created_at", filter=Q(state=DeliveryState.PENDING)),
        )
    }
    states = []
    for subscription in WebhookSubscription.objects.order_by("name", "pk"):
        row = counts.get(subscription.pk, {})
        last_failure = (
            attempts_of(subscription)
            .exclude(status_code__gte=200, status_code__lt=300)
            .values_list("error", "status_code")
            .first()
        )
        states.append(
            QueueState(
                subscription=subscription,
                events_behind=max(0, newest - subscription.cursor),
                due=row.get("due", 0),
                retrying=row.get("retrying", 0),
                delivered=row.get("delivered", 0),
                failed=row.get("failed", 0),
                oldest_pending=row.get("oldest_pending"),
                last_error=(last_failure[0] or f"HTTP {last_failure[1]}") if last_failure else "",
            )
        )
    return states


@dataclass(frozen=True)
class QueueDepth:
    """The worker's queue in a few numbers (GET /metrics)."""

    due: int  # pending deliveries due now
    waiting: int  # pending deliveries due later (after a backoff, or claimed and being sent)
    oldest_due_seconds: float  # how long the longest-due delivery has been due; 0 if none is
    events_behind: int  # events after the cursor of the active subscription furthest behind


def queue_depth() -> QueueDepth:
    """Three indexed reads, however long the queue: the pending deliveries (the partial
    index the workers claim from), the newest chain position, and the active subscriptions'
    oldest cursor."""
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(state=DeliveryState.PENDING).aggregate(
        total=Count("*"), due=Count("next_attempt_at", filter=Q(next_attempt_at__lte=now)), first=Min("next_attempt_at")
    )
    slowest = WebhookSubscription.objects.filter(active=True).aggregate(cursor=Min("cursor"))["cursor"]
    first = pending["first"]
    return QueueDepth(
        due=pending["due"],
        waiting=pending["total"] - pending["due"],
        oldest_due_seconds=max(0.0, (now - first).total_seconds()) if first is not None else 0.0,
        events_behind=max(0, newest_position() - slowest) if slowest is not None else 0,
    )
