"""Sending what is owed: claim due deliveries, POST each, record every attempt, and retry
failures with exponential backoff and jitter for at least WEBHOOK_RETRY_HOURS.

Several workers may run this at once. A claim is one short transaction: due rows are
locked with `SELECT ... FOR UPDATE SKIP LOCKED` (on SQLite, whose writers take turns, the
transaction's write lock does it), their `next_attempt_at` is moved on by a lease and their
attempt counted, so no other worker takes them; the POSTs happen after it commits, holding
no lock. A worker that dies mid-way leaves its claims to come due again when the lease
ends: a delivery can be repeated (at least once), never lost. The lease is longer than
the time its claimer may take to answer them all, so a live worker's claim never lapses,
and without failures each delivery is sent once.
"""

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.events import event_of
from audit.models import AuditEntry, AuditLink
from webhooks.choices import DeliveryState
from webhooks.encryption import SecretUnreadable, decrypt_secret
from webhooks.messages import body_of, signed_headers
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.transport import Answer, Transport

logger = logging.getLogger(__name__)

CLAIM_SIZE = 20  # deliveries one sender claims at a time
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 3600


def lease() -> timedelta:
    """How long a claim holds its deliveries: time to answer every one of them, and some."""
    return timedelta(seconds=CLAIM_SIZE * (settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_CONNECT_TIMEOUT) + 60)


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt`: doubling from 5 s to an hour, each
    drawn between half and all of that (jitter), so retries of many deliveries spread out."""
    ceiling = min(RETRY_BASE_SECONDS * 2 ** min(attempt - 1, 20), RETRY_MAX_SECONDS)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def claim_due(limit: int = CLAIM_SIZE) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries of active subscriptions for this worker."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, subscription__active=True)
            .select_related("subscription")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if due:
            WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in due]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + lease()
            )
    for delivery in due:
        delivery.attempts += 1
    return due


def held_by(claims: Iterable[tuple[int, int]]) -> Q:
    """The rows these (id, attempts) claims still hold (see the module's doc)."""
    return reduce(or_, (Q(pk=pk, attempts=attempts) for pk, attempts in claims))


def still_claimed(claims: list[tuple[int, int]]) -> list[WebhookDelivery]:
    """The deliveries these (id, attempts) claims still hold, in the claims' order: pending,
    with the attempt count their claim set. A claim that lapsed holds nothing: its lease ended
    and another claim took the delivery (the count moved on), or it was settled meanwhile."""
    if not claims:
        return []
    held = (
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
        .filter(held_by(claims))
        .select_related("subscription")
        .in_bulk()
    )
    return [held[pk] for pk, _ in claims if pk in held]


def events_of(deliveries: list[WebhookDelivery]) -> dict[int, dict]:
    """{delivery id: its event}: a test event as kept, a change event built from its audit
    entry and chain link (both append-only, so every attempt sends the same event)."""
    positions = [delivery.position for delivery in deliveries if delivery.position is not None]
    links = {link.position: link for link in AuditLink.objects.filter(position__in=positions)}
    entries = AuditEntry.objects.in_bulk([link.entry_id for link in links.values()])
    events = {}
    for delivery in deliveries:
        if delivery.payload is not None:
            events[delivery.pk] = delivery.payload
            continue
        link = links.get(delivery.position)
        entry = entries.get(link.entry_id) if link else None
        if entry is not None:
            events[delivery.pk] = event_of(entry, link)
    return events


def attempt(delivery: WebhookDelivery, event: dict | None, transport: Transport) -> Answer:
    """POST one delivery; whatever goes wrong becomes its answer."""
    if event is None:
        return Answer(None, 0, error="The event is no longer kept (pruned from the audit log).")
    try:
        secret = decrypt_secret(delivery.subscription.secret)
    except SecretUnreadable as error:
        return Answer(None, 0, error=str(error))
    body = body_of(event)
    try:
        headers = signed_headers(secret=secret, event_id=delivery.event_id, body=body, when=timezone.now())
        return transport.post(delivery.subscription.url, body, headers)
    except Exception as error:  # a bug must cost one attempt, not the worker
        logger.exception("Delivering %s failed", delivery)
        return Answer(None, 0, error=f"Internal error: {type(error).__name__}")


@dataclass(frozen=True)
class Result:
    delivery: WebhookDelivery
    answer: Answer
    at: object  # when the attempt began


def _claimed(results: list[Result]) -> Q:
    """The rows still held by the claims that made these attempts."""
    return held_by((r.delivery.pk, r.delivery.attempts) for r in results)


def record(results: list[Result], *, retry: bool = True) -> None:
    """Write the attempts, and move each delivery on: delivered, due again after a backoff,
    or failed once it has been retried for WEBHOOK_RETRY_HOURS (then its subscription, if
    nothing reached it all that time, is disabled)."""
    if not results:
        return
    now = timezone.now()
    give_up_before = now - timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    succeeded = [r for r in results if r.answer.succeeded]
    failed = [r for r in results if not r.answer.succeeded]
    given_up = [r for r in failed if not retry or r.delivery.created_at <= give_up_before]
    to_retry = [r for r in failed if r not in given_up]
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery_id=r.delivery.pk,
                number=r.delivery.attempts,
                at=r.at,
                status_code=r.answer.status_code,
                duration_ms=r.answer.duration_ms,
                error=r.answer.error,
                response_excerpt=r.answer.excerpt,
            )
            for r in results
        )
        pending = WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
        if succeeded:
            pending.filter(_claimed(succeeded)).update(state=DeliveryState.DELIVERED, delivered_at=now)
            WebhookSubscription.objects.filter(
                pk__in={r.delivery.subscription_id for r in succeeded}, failing_since__isnull=False
            ).update(failing_since=None)
        if given_up:
            pending.filter(_claimed(given_up)).update(state=DeliveryState.FAILED)
        for r in to_retry:
            pending.filter(_claimed([r])).update(next_attempt_at=now + retry_delay(r.delivery.attempts))
        if failed:
            WebhookSubscription.objects.filter(
                pk__in={r.delivery.subscription_id for r in failed} - {r.delivery.subscription_id for r in succeeded},
                failing_since__isnull=True,
            ).update(failing_since=min(r.at for r in failed))
    if retry:
        _disable_failing(
            {r.delivery.subscription_id for r in given_up} - {r.delivery.subscription_id for r in succeeded}
        )


def _disable_failing(subscription_ids: set[int]) -> None:
    from webhooks.services import subscription_disable  # services send through this module

    cutoff = timezone.now() - timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    for subscription in WebhookSubscription.objects.filter(
        pk__in=subscription_ids, active=True, failing_since__lte=cutoff
    ):
        last = (
            subscription.deliveries.filter(attempt_records__isnull=False)
            .values_list("attempt_records__error", flat=True)
            .order_by("-attempt_records__at")
            .first()
        )
        subscription_disable(
            subscription=subscription,
            reason=f"No delivery succeeded since {subscription.failing_since:%Y-%m-%d %H:%M} UTC "
            f"({settings.WEBHOOK_RETRY_HOURS} h of retries); last error: {last or 'none recorded'}",
        )


def release(deliveries: list[WebhookDelivery]) -> None:
    """Hand back claimed deliveries not attempted (the worker is stopping): due at once."""
    if deliveries:
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING).filter(
            held_by((d.pk, d.attempts) for d in deliveries)
        ).update(attempts=F("attempts") - 1, next_attempt_at=timezone.now())


def send(deliveries: list[WebhookDelivery], transport: Transport, *, stopping=None, retry: bool = True) -> int:
    """Attempt each claimed delivery and record how it went; stops early (handing the rest
    back) when `stopping` is set. Returns how many were attempted."""
    events = events_of(deliveries)
    results = []
    for index, delivery in enumerate(deliveries):
        if stopping is not None and stopping.is_set():
            release(deliveries[index:])
            break
        at = timezone.now()
        results.append(Result(delivery, attempt(delivery, events.get(delivery.pk), transport), at))
    record(results, retry=retry)
    return len(results)


PRUNE_BATCH = 5_000


def prune_finished() -> int:
    """Delete up to PRUNE_BATCH finished deliveries (delivered or given up) made more than
    WEBHOOK_DELIVERY_RETENTION_DAYS ago, with their attempts. Returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    finished = WebhookDelivery.objects.exclude(state=DeliveryState.PENDING).filter(created_at__lt=cutoff)
    ids = list(finished.order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
    if ids:
        with transaction.atomic():
            WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
            WebhookDelivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def send_due(transport: Transport, *, stopping=None) -> int:
    """One round of a sender: claim what is due and send it. Returns how many were sent."""
    claimed = claim_due()
    return send(claimed, transport, stopping=stopping) if claimed else 0
