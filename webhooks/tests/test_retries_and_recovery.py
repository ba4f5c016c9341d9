"""At least once: a failed attempt is retried with exponential backoff and jitter for at
least WEBHOOK_RETRY_HOURS, then given up, and a subscription nothing reached all that time
is disabled with the reason shown; a claim whose worker died comes due again; an
administrator can redeliver and replay from a cursor."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from models_registry.tests.factories import AIModelFactory
from webhooks import deliveries
from webhooks.deliveries import claim_due, retry_delay, send_due
from webhooks.dispatch import dispatch_events
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import deliveries_redeliver, subscription_create, subscription_replay

pytestmark = pytest.mark.django_db
LONG_AGO = timezone.now() - datetime.timedelta(days=3)


def make_due(subscription) -> None:
    WebhookDelivery.objects.filter(subscription=subscription, state="pending").update(next_attempt_at=LONG_AGO)


def test_the_wait_doubles_with_jitter_up_to_an_hour():
    for attempt in range(1, 30):
        ceiling = min(5 * 2 ** (attempt - 1), 3600)
        waits = {retry_delay(attempt).total_seconds() for _ in range(20)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered


def test_a_failed_attempt_is_retried_later_then_delivered(receiver, transport):
    subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    receiver.status = 500

    send_due(transport)
    retried_at = {d.pk: d.next_attempt_at for d in WebhookDelivery.objects.all()}
    nothing_due_yet = send_due(transport)
    receiver.status = 200
    make_due(subscription)
    send_due(transport)

    assert nothing_due_yet == 0
    assert all(
        timezone.now() < moment <= timezone.now() + datetime.timedelta(seconds=5) for moment in retried_at.values()
    )
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 2)}
    assert WebhookSubscription.objects.get().failing_since is None


def test_a_delivery_is_given_up_after_the_retry_window_and_the_subscription_disabled_with_why(
    receiver, transport, settings
):
    settings.WEBHOOK_RETRY_HOURS = 24
    subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    receiver.status = 503
    send_due(transport)
    still_active = WebhookSubscription.objects.get().active
    # A day and more later, still failing:
    WebhookDelivery.objects.update(created_at=LONG_AGO, next_attempt_at=LONG_AGO)
    WebhookSubscription.objects.update(failing_since=LONG_AGO)
    entries = AuditEntry.objects.count()

    send_due(transport)

    subscription.refresh_from_db()
    assert still_active
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"failed"}
    assert subscription.active is False
    assert "No delivery succeeded since" in subscription.disabled_reason
    assert "Answered 503" in subscription.disabled_reason
    [entry] = AuditEntry.objects.order_by("pk")[entries:]  # the disabling is audited
    assert entry.changes["active"] == {"old": True, "new": False}
    assert entry.reason == "Deliveries kept failing."


def test_a_subscription_that_had_a_success_meanwhile_is_not_disabled(receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    receiver.status = 503
    send_due(transport)
    WebhookDelivery.objects.update(created_at=LONG_AGO, next_attempt_at=LONG_AGO)

    send_due(transport)  # given up, but the subscription has failed only for a moment

    assert WebhookSubscription.objects.get().active is True


def test_nothing_is_sent_to_a_disabled_subscription_and_it_resumes_where_it_was(receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    WebhookSubscription.objects.update(active=False)

    sent_while_off = send_due(transport)
    WebhookSubscription.objects.update(active=True)
    sent_after = send_due(transport)

    assert (sent_while_off, sent_after) == (0, 2)


def test_a_claim_whose_worker_died_comes_due_again_when_its_lease_ends(receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()

    claimed = claim_due()  # ... and the worker dies before sending
    claimed_again = claim_due()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the lease has passed
    sent = send_due(transport)

    assert len(claimed) == 2 and claimed_again == []
    assert sent == 2
    assert len(receiver.wait_for(2)) == 2
    # Its attempt number was used by the claim that died: the next one is the second.
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 2)}


def test_an_answer_arriving_after_its_claim_lapsed_does_not_overwrite_the_new_claims(receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    slow = claim_due(limit=1)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    fast = claim_due(limit=1)
    receiver.status = 500

    deliveries.send(slow, transport)  # the slow claim's failure, recorded late

    assert fast[0].pk == slow[0].pk
    delivery = WebhookDelivery.objects.get(pk=slow[0].pk)
    assert delivery.attempts == 2 and delivery.state == "pending"
    assert delivery.next_attempt_at > timezone.now() + datetime.timedelta(seconds=60)  # still the new claim's lease


def test_the_lease_covers_every_attempt_of_a_claim(settings):
    assert deliveries.lease() > datetime.timedelta(
        seconds=deliveries.CLAIM_SIZE * (settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_CONNECT_TIMEOUT)
    )


def test_redeliver_sends_a_delivered_event_again(receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    send_due(transport)
    delivery = WebhookDelivery.objects.order_by("pk").first()

    deliveries_redeliver(delivery_ids=[delivery.pk])
    send_due(transport)

    ids = [r.headers["webhook-id"] for r in receiver.wait_for(3)]
    assert sorted(ids).count(delivery.event_id) == 2
    assert list(delivery.attempt_records.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_replay_from_a_cursor_owes_again_what_came_after_it(receiver, transport):
    subscription, _ = subscription_create(actor=None, name="s", url=receiver.url, types=["model.created"])
    models = [AIModelFactory(name=f"m-{n}") for n in range(3)]
    dispatch_events()
    send_due(transport)
    subscription.refresh_from_db()
    after = WebhookDelivery.objects.get(event_id=f"evt_{AuditEntry.objects.get(object_repr='m-0').pk}").position

    made_due = subscription_replay(subscription=subscription, after=after)
    send_due(transport)

    assert made_due == 2
    received = [r.headers["webhook-id"] for r in receiver.wait_for(5)]
    replayed = received[3:]
    assert sorted(replayed) == sorted(
        f"evt_{AuditEntry.objects.get(object_repr=m.name, action='create').pk}" for m in models[1:]
    )
