"""Every change to webhooks, whichever door it comes through (admin, API, the worker).

Subscription changes are audited as registry changes are (a history row, an audit entry,
its chain link, stamped with the actor, door, request id and reason), in one transaction,
but move no catalog version: the registry did not change, so they are no change events.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from audit.chain import chain_links
from audit.context import change_context, current_change
from models_registry.selectors import models_depended_on_by
from webhooks import deliveries
from webhooks.choices import DeliveryState
from webhooks.dispatch import BATCH, EventFilter, delivery_owed, events_after, newest_position
from webhooks.encryption import encrypt_secret, new_secret
from webhooks.messages import test_event
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.transport import Transport


@contextmanager
def audited(*, actor, reason: str) -> Iterator[None]:
    """One audited change to webhooks, as `actor` with `reason` (not given: the open
    context's), its entries linked into the audit chain when it commits."""
    overrides = {key: value for key, value in {"actor": actor, "reason": reason}.items() if value}
    with change_context(**overrides), transaction.atomic(), chain_links():
        yield


def subscription_create(*, actor, reason: str = "", **fields) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned here, and never again). It is
    owed the events that commit after it: its cursor starts at the newest one."""
    secret = new_secret()
    subscription = WebhookSubscription(**fields, secret=encrypt_secret(secret))
    subscription.full_clean()
    with audited(actor=actor, reason=reason):
        subscription.cursor = newest_position()
        subscription.save()
    return subscription, secret


def subscription_update(*, subscription: WebhookSubscription, actor, reason: str = "", **fields) -> None:
    """Change a subscription's configuration (WebhookSubscription.CONFIGURATION). Turned
    back on, it resumes where its cursor stopped: nothing owed meanwhile is dropped."""
    for name, value in fields.items():
        if name not in WebhookSubscription.CONFIGURATION:
            raise ValueError(f"{name} is not part of a subscription's configuration")
        setattr(subscription, name, value)
    subscription.full_clean()
    reactivated = fields.get("active") is True
    with audited(actor=actor, reason=reason):
        # Only the configuration: the worker moves the cursor meanwhile.
        subscription.save(update_fields=[*WebhookSubscription.CONFIGURATION, "updated_at"])
        if reactivated:
            WebhookSubscription.objects.filter(pk=subscription.pk).update(failing_since=None)


def subscription_delete(*, subscription: WebhookSubscription, actor, reason: str = "") -> None:
    """Delete a subscription with what it was still owed and its attempts."""
    with audited(actor=actor, reason=reason):
        subscription.delete()


def subscription_disable(*, subscription: WebhookSubscription, reason: str) -> None:
    """Turn off a subscription that keeps failing, saying why (the worker does this)."""
    subscription.active = False
    subscription.disabled_reason = reason[: WebhookSubscription._meta.get_field("disabled_reason").max_length]
    with audited(actor=None, reason="Deliveries kept failing."):
        subscription.save(update_fields=["active", "disabled_reason", "updated_at"])


def send_test_event(*, subscription: WebhookSubscription, actor) -> WebhookAttempt:
    """Send a `webhook.test` event now, signed as any delivery, and return the attempt (a
    failed test is recorded and not retried)."""
    context = current_change()
    now = timezone.now()
    event = test_event(
        subscription,
        actor_name=actor.get_username() if getattr(actor, "is_authenticated", False) else "",
        source=context.source,
        request_id=context.request_id,
        now=now,
    )
    # Made claimed (its first attempt counted, due only after a lease), so no worker takes it.
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=event["id"],
        event_type=event["type"],
        payload=event,
        attempts=1,
        next_attempt_at=now + deliveries.lease(),
    )
    transport = Transport()
    try:
        deliveries.send([delivery], transport, retry=False)
    finally:
        transport.close()
    return delivery.attempt_records.get()


def deliveries_redeliver(*, delivery_ids: list[int]) -> int:
    """Make these deliveries owed again, due now (after a success too: "send it again")."""
    return WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
        state=DeliveryState.PENDING, next_attempt_at=timezone.now(), delivered_at=None
    )


def subscription_replay(*, subscription: WebhookSubscription, after: int) -> int:
    """Owe `subscription` again every event after chain position `after` (a cursor) up to its
    own cursor that its filters let through now: delivered ones are sent again, the others
    made. Later events follow as usual. Returns how many deliveries were made due."""
    wanted = EventFilter.of(
        subscription, models_depended_on_by(subscription.dependent) if subscription.dependent else set()
    )
    owed = 0
    position = after
    while position < subscription.cursor:
        events, last = events_after(position, BATCH)
        if last == position:
            break
        position = last
        matched = [
            (entry, event)
            for entry, event in events
            if int(event["cursor"]) <= subscription.cursor and wanted.matches(event, entry.provider_id)
        ]
        with transaction.atomic():
            WebhookDelivery.objects.bulk_create(
                [delivery_owed(subscription, entry, event) for entry, event in matched], ignore_conflicts=True
            )
            owed += deliveries_redeliver(
                delivery_ids=list(
                    subscription.deliveries.filter(event_id__in=[event["id"] for _, event in matched]).values_list(
                        "pk", flat=True
                    )
                )
            )
    return owed
