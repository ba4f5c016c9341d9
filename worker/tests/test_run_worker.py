"""The worker delivers what is owed until stopped (SIGTERM or SIGINT), needs nothing but the
database, and several may run at once: with 3 workers and nothing failing each event
reaches each subscriber exactly once; a worker killed mid-delivery loses nothing. With
WORKER_QUEUE=rq, one run_worker and three RQ workers do the same."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from standardwebhooks import Webhook

from audit.models import AuditEntry
from llm_admin.tests.servers import current_database_url
from models_registry.choices import ModelStatus
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create
from webhooks.tests.receiver import receiving
from worker.runner import Worker
from worker.steps import worker_steps

pytestmark = pytest.mark.django_db(transaction=True)


def event_ids_after(entry_id: int) -> set[str]:
    events = AuditEntry.objects.filter(pk__gt=entry_id).exclude(event_type="")
    return {f"evt_{pk}" for pk in events.values_list("pk", flat=True)}


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_the_embedded_worker_delivers_what_commits_and_stops_when_asked():
    with receiving() as receiver:
        subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
        start = last_entry_id()
        # Written before the worker starts: SQLite's in-memory test database locks a table
        # outright (no waiting) while another thread reads it. Writers beside running workers
        # are tested on PostgreSQL below.
        models = [AIModelFactory(name=f"m-{n}") for n in range(5)]
        aimodel_update(model=models[0], actor=None, status=ModelStatus.DEPRECATED)
        expected = event_ids_after(start)
        worker = Worker(worker_steps())
        worker.start()
        try:
            received = receiver.wait_for(len(expected), timeout=20)
        finally:
            worker.stop()
            worker.join(timeout=30)

    assert not any(thread.is_alive() for thread in worker.threads)
    assert sorted(Webhook(secret).verify(r.body, r.headers)["data"]["id"] for r in received) == sorted(expected)
    assert len(expected) == 11  # 5 providers, 5 models, 1 deprecation
    assert set(subscription.deliveries.values_list("state", flat=True)) == {"delivered"}


# --- run_worker as processes, on PostgreSQL (the test database is a server other processes reach)


@contextlib.contextmanager
def started(command: list[str], log, **environment: str) -> Iterator[subprocess.Popen]:
    """`command` in a process of its own, on this test's database; killed if still running."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings",
        "DATABASE_URL": current_database_url(),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
        "WORKER_QUEUE": "database",
    }
    env.pop("REDIS_URL", None)  # the embedded worker needs nothing but the database
    env.update(environment)
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def run_worker(log, **environment: str):
    return started([sys.executable, "manage.py", "run_worker"], log, **environment)


def rq_worker(log, **environment: str):
    queue = environment["WORKER_RQ_QUEUE"]
    return started([sys.executable, "manage.py", "rqworker", queue], log, **environment)


def sessions() -> set[int]:
    """The server process ids of the other connections to this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


@pytest.fixture(autouse=True)
def _workers_gone_before_the_database_is():
    """A killed worker's sessions end a moment after it does: wait for them, so the test
    database can be dropped (or flushed) without anyone else in it. Sessions this process
    held before the test (its change-feed listener, say) are not the worker's."""
    if connection.vendor != "postgresql":
        yield
        return
    before = sessions()
    yield
    deadline = time.monotonic() + 15
    while sessions() - before and time.monotonic() < deadline:
        time.sleep(0.1)


def output(log) -> str:
    log.seek(0)
    return log.read()


@pytest.mark.postgres
def test_run_worker_delivers_and_stops_cleanly_on_sigterm_and_sigint():
    with receiving() as receiver, tempfile.TemporaryFile("w+") as log:
        subscription_create(actor=None, name="s", url=receiver.url)
        for stop in (signal.SIGTERM, signal.SIGINT):
            start = last_entry_id()
            with run_worker(log) as process:
                AIModelFactory()
                wanted = event_ids_after(start)
                received = {r.headers["webhook-id"] for r in receiver.wait_for(len(receiver.received) + 2, 30)}
                process.send_signal(stop)
                assert process.wait(timeout=60) == 0, output(log)
            assert wanted <= received, output(log)
        assert output(log).count("Worker stopped.") == 2


WRITERS, CHANGES_EACH = 4, 25


def write_from_threads(provider) -> None:
    """WRITERS threads at once, each creating CHANGES_EACH models and deprecating half."""

    def write(number: int) -> None:
        try:
            for change in range(CHANGES_EACH):
                model = AIModelFactory(name=f"w{number}-{change}", provider=provider)
                if change % 2:
                    aimodel_update(model=model, actor=None, status=ModelStatus.DEPRECATED)
        finally:
            connection.close()  # this thread's own

    threads = [threading.Thread(target=write, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def created_or_deprecated_after(entry_id: int) -> set[str]:
    events = AuditEntry.objects.filter(pk__gt=entry_id, event_type__in=["model.created", "model.deprecated"])
    return {f"evt_{pk}" for pk in events.values_list("pk", flat=True)}


@pytest.mark.postgres
def test_three_workers_deliver_each_event_to_each_subscriber_exactly_once():
    with receiving() as first, receiving() as second, tempfile.TemporaryFile("w+") as log:
        subscription_create(actor=None, name="first", url=first.url)
        subscription_create(actor=None, name="second", url=second.url, types=["model.created", "model.deprecated"])
        start = last_entry_id()
        provider = ProviderFactory(slug="load")
        with run_worker(log), run_worker(log), run_worker(log):
            write_from_threads(provider)
            everything = event_ids_after(start)
            created_or_deprecated = created_or_deprecated_after(start)
            got_first = first.wait_for(len(everything), timeout=60)
            got_second = second.wait_for(len(created_or_deprecated), timeout=60)
            time.sleep(1.0)  # anything sent twice would arrive meanwhile

        first_ids = [r.headers["webhook-id"] for r in first.received]
        second_ids = [r.headers["webhook-id"] for r in second.received]
    # The provider, every model created, half of them deprecated.
    assert len(everything) == 1 + WRITERS * (CHANGES_EACH + CHANGES_EACH // 2)
    assert len(got_first) >= len(everything) and len(got_second) >= len(created_or_deprecated), output(log)
    assert sorted(first_ids) == sorted(everything)  # every event, none twice
    assert sorted(second_ids) == sorted(created_or_deprecated)
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 1)}


@pytest.mark.postgres
def test_a_worker_killed_mid_delivery_loses_nothing():
    with receiving() as receiver, tempfile.TemporaryFile("w+") as log:
        subscription_create(actor=None, name="s", url=receiver.url)
        start = last_entry_id()
        for n in range(10):
            AIModelFactory(name=f"m-{n}")
        wanted = event_ids_after(start)
        receiver.delay = 0.5  # a slow consumer: the worker is mid-way through its claim
        with run_worker(log) as process:
            receiver.wait_for(1, timeout=30)
            process.kill()  # no chance to finish or hand anything back
            process.wait(timeout=10)
        # The dead worker's claims come due when their lease ends; here, at once.
        left = WebhookDelivery.objects.filter(state="pending").update(next_attempt_at="2000-01-01T00:00:00Z")
        receiver.delay = 0
        with run_worker(log) as process:
            deadline = time.monotonic() + 30
            while not wanted <= {r.headers["webhook-id"] for r in receiver.received} and time.monotonic() < deadline:
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        received = {r.headers["webhook-id"] for r in receiver.received}
    assert left > 0  # it did die with deliveries claimed and not recorded
    assert wanted <= received, output(log)


@pytest.mark.postgres
@pytest.mark.redis
def test_with_rq_one_run_worker_and_three_rq_workers_deliver_each_event_to_each_subscriber_exactly_once(rq_queue):
    """WORKER_QUEUE=rq as the README runs it: run_worker dispatches and enqueues, three
    `manage.py rqworker` processes send."""
    rq = {"WORKER_QUEUE": "rq", "WORKER_RQ_QUEUE": settings.WORKER_RQ_QUEUE, "REDIS_URL": settings.REDIS_URL}
    with receiving() as first, receiving() as second, tempfile.TemporaryFile("w+") as log:
        subscription_create(actor=None, name="first", url=first.url)
        subscription_create(actor=None, name="second", url=second.url, types=["model.created", "model.deprecated"])
        start = last_entry_id()
        provider = ProviderFactory(slug="load")
        with contextlib.ExitStack() as running:
            processes = [running.enter_context(run_worker(log, **rq))]
            processes += [running.enter_context(rq_worker(log, **rq)) for _ in range(3)]
            write_from_threads(provider)
            everything = event_ids_after(start)
            created_or_deprecated = created_or_deprecated_after(start)
            got_first = first.wait_for(len(everything), timeout=60)
            got_second = second.wait_for(len(created_or_deprecated), timeout=60)
            for process in processes:
                process.send_signal(signal.SIGTERM)  # each finishes what it had begun, then exits
            exits = [process.wait(timeout=60) for process in processes]

        first_ids = [r.headers["webhook-id"] for r in first.received]
        second_ids = [r.headers["webhook-id"] for r in second.received]
        logged = output(log)
    assert len(everything) == 1 + WRITERS * (CHANGES_EACH + CHANGES_EACH // 2)
    assert len(got_first) >= len(everything) and len(got_second) >= len(created_or_deprecated), logged
    assert exits == [0, 0, 0, 0], logged
    assert "sent by RQ workers from queue llm_admin_tests" in logged
    assert sorted(first_ids) == sorted(everything)  # every event, none twice
    assert sorted(second_ids) == sorted(created_or_deprecated)
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 1)}
    assert rq_queue.finished_job_registry.count > 0 and rq_queue.failed_job_registry.count == 0
