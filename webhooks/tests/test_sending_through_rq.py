"""With WORKER_QUEUE=rq the database stays the source of truth: run_worker claims due
deliveries as the embedded worker does and enqueues one RQ job per claimed batch; the job
sends what its claims still hold through the one sending path and records each attempt. A
job whose claims lapsed sends nothing; a job Redis loses is claimed and enqueued again
once its lease ends: at least once, never lost, whichever engine `run_worker` delivers
webhooks through (docs/contract.md §7, "Webhooks (administrators)")."""

import datetime
import time

import pytest
from django.utils import timezone
from rq import SimpleWorker
from standardwebhooks import Webhook

from audit.models import AuditEntry
from models_registry.choices import ModelStatus
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory
from webhooks import deliveries
from webhooks.deliveries import claim_due
from webhooks.dispatch import dispatch_events
from webhooks.jobs import MAX_WAITING_JOBS, enqueue_due, send_claimed
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import subscription_create
from worker.steps import worker_steps

pytestmark = pytest.mark.django_db


def claims_of(claimed: list[WebhookDelivery]) -> list[tuple[int, int]]:
    return [(delivery.pk, delivery.attempts) for delivery in claimed]


def event_ids() -> list[str]:
    return sorted(f"evt_{pk}" for pk in AuditEntry.objects.exclude(event_type="").values_list("pk", flat=True))


def run_jobs(queue) -> None:
    """What `manage.py rqworker` does, in this process until the queue is empty."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_the_job_sends_what_its_claims_hold_and_records_each_attempt(receiver):
    _subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()  # a provider and a model: two events
    dispatch_events()

    sent = send_claimed(claims_of(claim_due()))

    received = receiver.wait_for(2)
    assert sent == 2
    assert sorted(Webhook(secret).verify(r.body, r.headers)["data"]["id"] for r in received) == event_ids()
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 1)}
    assert sorted(WebhookAttempt.objects.values_list("number", "status_code")) == [(1, 200), (1, 200)]


def test_a_job_whose_claims_lapsed_sends_nothing(receiver):
    subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    first = claims_of(claim_due())  # its job waits, or is lost ...
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # ... past the lease,
    second = claims_of(claim_due())  # and the deliveries are claimed again

    late = send_claimed(first)  # the first job runs after all
    sent = send_claimed(second)
    again = send_claimed(second)  # settled: a repeated job sends nothing either

    assert (late, sent, again) == (0, 2, 0)
    assert len(receiver.wait_for(2)) == 2
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 2)}
    assert sorted(WebhookAttempt.objects.values_list("number", flat=True)) == [2, 2]


class UnreachableQueue:
    count = 0

    def enqueue(self, *args, **kwargs):
        raise ConnectionError("Redis is down")


class FullQueue:
    count = MAX_WAITING_JOBS

    def enqueue(self, *args, **kwargs):
        raise AssertionError("nothing is enqueued onto a full queue")


def test_claims_that_could_not_be_enqueued_are_handed_back_at_once(receiver):
    subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()

    with pytest.raises(ConnectionError):
        enqueue_due(UnreachableQueue())

    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {0}
    assert len(claim_due()) == 2  # due now, not after the lease


def test_nothing_is_claimed_while_the_queue_already_holds_enough_jobs(receiver):
    subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()

    handed = enqueue_due(FullQueue())

    assert handed == 0
    assert len(claim_due()) == 2


# --- Through a real Redis: the worker's steps enqueue, an RQ worker runs the jobs


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_committed_change_arrives_signed_once_through_rq(rq_queue, receiver):
    subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
    model = AIModelFactory(name="gpt-4o")
    aimodel_update(model=model, actor=None, status=ModelStatus.DEPRECATED, reason="retired")
    steps = {step.name: step for step in worker_steps()}
    dispatch, deliver = steps["webhook dispatch"].make(), steps["webhook delivery"].make()

    made = dispatch(None)
    handed = deliver(None)
    queued = rq_queue.count
    run_jobs(rq_queue)

    received = receiver.wait_for(3)
    assert made == handed == 3  # provider, model, deprecation
    assert queued == 1  # one job for the batch
    assert sorted(Webhook(secret).verify(r.body, r.headers)["data"]["id"] for r in received) == event_ids()
    assert set(subscription.deliveries.values_list("state", "attempts")) == {("delivered", 1)}
    assert rq_queue.count == 0 and rq_queue.finished_job_registry.count == 1


@pytest.mark.redis
def test_a_job_redis_lost_is_claimed_and_enqueued_again_once_its_lease_ends(rq_queue, receiver, monkeypatch):
    monkeypatch.setattr(deliveries, "lease", lambda: datetime.timedelta(seconds=1))
    _subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    first = enqueue_due(rq_queue)
    rq_queue.delete(delete_jobs=True)  # Redis lost it (restarted without persistence, say)
    while_leased = enqueue_due(rq_queue)

    deadline = time.monotonic() + 10
    while (again := enqueue_due(rq_queue)) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    run_jobs(rq_queue)

    received = receiver.wait_for(2)
    assert (first, while_leased, again) == (2, 0, 2)
    assert sorted(Webhook(secret).verify(r.body, r.headers)["data"]["id"] for r in received) == event_ids()
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 2)}
