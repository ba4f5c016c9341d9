"""What the worker does: every kind of background work is one step here.

A step is a function that does one round of its work and says how much it did; the runner
calls it again at once while there is work, and every WORKER_POLL_INTERVAL otherwise. Steps
keep their state in the database only, so any number of workers may run them at once and
any of them may die without losing work.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import django_rq
from django.conf import settings

from models_registry.services.scheduled import apply_due_scheduled_changes
from webhooks.deliveries import prune_finished, send_due
from webhooks.dispatch import dispatch_events
from webhooks.jobs import enqueue_due
from webhooks.transport import Transport


@dataclass(frozen=True)
class Step:
    name: str
    # Makes one round's function for one thread (a sender keeps its connections, say);
    # that function takes the runner's stop event and returns the work done.
    make: Callable[[], Callable]
    threads: int = 1
    wakes: tuple[str, ...] = field(default=())  # steps to wake at once when this one did work
    idle_seconds: float | None = None  # the pause after a round with nothing to do (default WORKER_POLL_INTERVAL)


def _dispatcher() -> Callable:
    return lambda stopping: dispatch_events()


def _sender() -> Callable:
    transport = Transport()

    def send_round(stopping) -> int:
        return send_due(transport, stopping=stopping)

    send_round.close = transport.close
    return send_round


def _scheduler() -> Callable:
    return lambda stopping: apply_due_scheduled_changes()


def _pruner() -> Callable:
    return lambda stopping: prune_finished()


PRUNE_EVERY_SECONDS = 3600.0
SCHEDULE_CHECK_SECONDS = 1.0  # a scheduled change is applied within about a second of its time


def _enqueuer() -> Callable:
    # Enqueued at once: the claim it carries has committed already.
    queue = django_rq.get_queue(settings.WORKER_RQ_QUEUE, commit_mode="auto")
    return lambda stopping: enqueue_due(queue)


def _delivery() -> Step:
    """Sending: in this process's threads, or (WORKER_QUEUE=rq) claimed here and sent by RQ's
    workers (`manage.py rqworker`), one job per claimed batch (webhooks/jobs.py)."""
    if settings.WORKER_QUEUE == "rq":
        return Step("webhook delivery", _enqueuer)
    return Step("webhook delivery", _sender, threads=settings.WEBHOOK_SENDER_THREADS)


def worker_steps() -> list[Step]:
    return [
        Step("scheduled changes", _scheduler, wakes=("webhook dispatch",), idle_seconds=SCHEDULE_CHECK_SECONDS),
        Step("webhook dispatch", _dispatcher, wakes=("webhook delivery",)),
        _delivery(),
        Step("webhook pruning", _pruner, idle_seconds=PRUNE_EVERY_SECONDS),
    ]
