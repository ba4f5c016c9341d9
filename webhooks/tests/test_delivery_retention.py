"""Finished deliveries (delivered or given up) and their attempts are kept for
WEBHOOK_DELIVERY_RETENTION_DAYS, then the worker deletes them in batches; pending ones stay
whatever their age, so nothing owed is lost."""

import datetime

import pytest
from django.utils import timezone

from models_registry.tests.factories import AIModelFactory
from webhooks import deliveries
from webhooks.choices import DeliveryState
from webhooks.deliveries import prune_finished, send_due
from webhooks.dispatch import dispatch_events
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import subscription_create
from worker.steps import worker_steps

pytestmark = pytest.mark.django_db


def age(days: float, **which) -> None:
    WebhookDelivery.objects.filter(**which).update(created_at=timezone.now() - datetime.timedelta(days=days))


def test_finished_deliveries_older_than_the_retention_go_with_their_attempts(receiver, transport, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory.create_batch(4)  # four providers and four models: eight events
    dispatch_events()
    send_due(transport)
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    old_delivered, old_failed, old_pending, recent = ids[0], ids[1], ids[2], ids[3:]
    WebhookDelivery.objects.filter(pk=old_failed).update(state=DeliveryState.FAILED)
    WebhookDelivery.objects.filter(pk=old_pending).update(state=DeliveryState.PENDING)
    age(31, pk__in=[old_delivered, old_failed, old_pending])
    age(29, pk__in=recent)

    pruned = prune_finished()

    assert pruned == 2
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_pending, *recent}
    assert set(WebhookAttempt.objects.values_list("delivery_id", flat=True)) == {old_pending, *recent}
    assert prune_finished() == 0


def test_pruning_goes_in_batches_and_the_worker_step_repeats_while_there_is_more(receiver, transport, monkeypatch):
    monkeypatch.setattr(deliveries, "PRUNE_BATCH", 2)
    subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory.create_batch(2)
    dispatch_events()
    send_due(transport)
    assert WebhookDelivery.objects.count() == 4  # two providers created, two models
    age(400)
    (pruning,) = [step for step in worker_steps() if step.name == "webhook pruning"]
    prune_round = pruning.make()

    rounds = []
    while done := prune_round(None):
        rounds.append(done)

    assert rounds == [2, 2]
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()
    assert pruning.idle_seconds >= 60  # an idle pruner looks again rarely, not every poll
