"""Webhooks under load (issue 11): commit -> webhook received on loopback, at a steady rate of
changes to several subscribers, with real `run_worker` processes; then a subscriber that is
down for a while and comes back.

Each change is a real registry write, paced to the rate: with `--webhook-batch 1` one
`aimodel_update` (one `model.updated` event) per change; with a batch of N (the default, 10),
a set-based status change of N models (`aimodel_bulk_apply`, N events), the registry's own
bulk path: one model a write costs about 14 ms of CPU, so on a 2-CPU machine the writers alone
would take most of the processor that delivery is measured on. Each subscriber is a consumer
on 127.0.0.1 recording when each delivery arrived.
Latency is from the change's audit entry (written inside its transaction, just before the
commit) to the delivery's arrival. Lost: an event some subscriber never received; duplicated:
an event a subscriber received (with a 2xx answer) more than once. Targets: p99 <= 2 s, 0
lost, 0 duplicated; the subscriber that was down receives everything it was owed.
"""

import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from audit.models import AuditEntry
from bench.harness import Table
from bench.seeding import SyntheticCatalog
from models_registry.choices import BulkAction
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_update
from webhooks.services import subscription_create
from webhooks.tests.receiver import receiving

TITLE = "Webhooks: commit -> received on loopback (run_worker processes)"
TARGET_P99_SECONDS = 2.0
RATE_REACHED = 0.95  # the share of the asked rate the writer must reach for the verdict to count
MODELS = 200
DRAIN_SECONDS = 60  # how long the deliveries owed may take to arrive after the last change


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def workers(count: int, log):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings",
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "manage.py", "run_worker"]
    processes = [
        subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


class Subscribers:
    """The consumers, in a process of their own: in this one they would share the
    interpreter's lock with the writer, and 1,000 answers a second would slow the writes."""

    def __init__(self, count: int):
        self.pipe, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=_serve, args=(count, theirs), daemon=True)
        self.process.start()
        self.urls = self.pipe.recv()

    def ask(self, *message):
        self.pipe.send(message)
        return self.pipe.recv()

    def close(self) -> None:
        self.ask("stop")
        self.process.join(10)


def _serve(count: int, pipe) -> None:
    with ExitStack() as stack:
        receivers = [stack.enter_context(receiving()) for _ in range(count)]
        pipe.send([receiver.url for receiver in receivers])
        while True:
            command, *args = pipe.recv()
            if command == "status":  # (which, status): answer with this status from now on
                receivers[args[0]].status = args[1]
                pipe.send(None)
            elif command == "received":  # [(event id, arrival, status)] of each subscriber
                pipe.send([[(r.headers["webhook-id"], r.at, r.status) for r in rcv.received] for rcv in receivers])
            elif command == "missing":  # (owed ids, which): how many each has not received with a 2xx
                owed, which = set(args[0]), args[1]
                pipe.send(sum(len(owed - {r.headers["webhook-id"] for r in receivers[i].received if r.status < 300})
                              for i in which))  # fmt: skip
            else:
                pipe.send(None)
                return


WRITERS = 4  # one registry write takes tens of ms: one thread alone cannot keep 100 a second


def write_changes(models: list[AIModel], rate: float, seconds: float, batch: int) -> int:
    """`rate` changes a second for `seconds`, from WRITERS threads (each its own models and
    connection), `batch` models a write (see the module's docstring); returns how many
    changes were made."""
    groups = [models[start : start + batch] for start in range(0, len(models) - batch + 1, batch)]
    groups = groups[: len(groups) - len(groups) % WRITERS]  # each group is one writer's: its status is known
    writes = int(rate * seconds / batch)
    made = [0] * WRITERS
    started = time.monotonic()

    def write(writer: int) -> None:
        active = dict.fromkeys(range(len(groups)), True)  # every model is active when the clock starts
        try:
            for number in range(writer, writes, WRITERS):
                wait = started + number * batch / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if batch == 1:
                    model = models[number % len(models)]
                    aimodel_update(model=model, actor=None, display_name=f"change {number}")
                    made[writer] += 1
                    continue
                group = number % len(groups)
                action = BulkAction.DEACTIVATE if active[group] else BulkAction.ACTIVATE
                result = aimodel_bulk_apply(action=action, ids=[m.pk for m in groups[group]], actor=None)
                active[group] = not active[group]
                made[writer] += sum(1 for item in result.results if item.ok and not item.unchanged)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(made)


def events_after(entry_id: int) -> dict[str, float]:
    """{event id: the time its entry was written} of the events after `entry_id`."""
    rows = AuditEntry.objects.filter(pk__gt=entry_id).exclude(event_type="").values_list("pk", "timestamp")
    return {f"evt_{pk}": timestamp.timestamp() for pk, timestamp in rows}


def tally(received: list[list[tuple]], owed: dict[str, float]) -> tuple[list[float], int, int]:
    """(latencies of first 2xx receipts, lost, duplicated) over every subscriber's receipts."""
    latencies, lost, duplicated = [], 0, 0
    for receipts in received:
        taken: dict[str, float] = {}
        for event_id, at, status in receipts:
            if status >= 300:
                continue
            if event_id in taken:
                duplicated += 1
            elif event_id in owed:
                taken[event_id] = at
                latencies.append(at - owed[event_id])
        lost += len(set(owed) - set(taken))
    return latencies, lost, duplicated


def wait_for_all(subscribers: Subscribers, which: list[int], owed: dict[str, float], deadline: float) -> None:
    while time.monotonic() < deadline and subscribers.ask("missing", list(owed), which):
        time.sleep(0.5)


def last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 else 0.0


def run(options) -> Table:
    SyntheticCatalog().add(MODELS)
    models = list(AIModel.objects.order_by("pk")[:MODELS])
    aimodel_bulk_apply(action=BulkAction.ACTIVATE, ids=[model.pk for model in models], actor=None)
    rows, notes, verdicts = [], [], []
    subscribers = Subscribers(options.webhook_subscribers)
    everyone = list(range(options.webhook_subscribers))
    with tempfile.TemporaryFile("w+") as log, ExitStack() as stack:
        stack.callback(subscribers.close)
        for number, url in enumerate(subscribers.urls):
            subscription_create(actor=None, name=f"bench-{number}", url=url)
        with workers(options.webhook_workers, log):
            time.sleep(3)  # the workers start (Django setup) before the clock does
            start = last_entry()
            began = time.monotonic()
            written = write_changes(models, options.webhook_rate, options.webhook_seconds, options.webhook_batch)
            achieved = written / (time.monotonic() - began)
            owed = events_after(start)
            wait_for_all(subscribers, everyone, owed, time.monotonic() + DRAIN_SECONDS)
            latencies, lost, duplicated = tally(subscribers.ask("received"), owed)
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            rows.append((
                f"{options.webhook_rate:g} changes/s x {options.webhook_seconds:g} s to {len(everyone)} subscribers",
                f"{len(owed)} x {len(everyone)}", f"{achieved:.0f}/s", f"{p50:.3f} s", f"{p99:.3f} s",
                str(lost), str(duplicated),
            ))  # fmt: skip
            ok = p99 <= TARGET_P99_SECONDS and lost == 0 and duplicated == 0
            # The target is at the asked rate: a writer that fell short measured a lighter load.
            at_rate = achieved >= RATE_REACHED * options.webhook_rate
            verdict = ("PASS" if at_rate else "NOT MEASURED at the asked rate") if ok else "FAIL"
            verdicts.append(f"steady load: {verdict} (p99 {p99:.2f} s, target <= 2 s, at {achieved:.0f} of "
                            f"{options.webhook_rate:g} changes/s; lost {lost}, duplicated {duplicated})")  # fmt: skip

            # A subscriber down, then back.
            subscribers.ask("status", 0, 503)
            start = last_entry()
            went_down = time.monotonic()
            write_changes(models, options.webhook_down_rate, options.webhook_down_seconds, options.webhook_batch)
            time.sleep(max(0.0, went_down + options.webhook_down_seconds - time.monotonic()))
            subscribers.ask("status", 0, 200)
            back = time.monotonic()
            owed = events_after(start)
            wait_for_all(subscribers, [0], owed, back + options.webhook_down_seconds * 2 + DRAIN_SECONDS)
            caught_up = time.monotonic() - back
            latencies, lost, duplicated = tally(subscribers.ask("received")[:1], owed)
            rows.append((
                f"subscriber down {options.webhook_down_seconds:g} s, then back",
                f"{len(owed)} x 1", f"{options.webhook_down_rate:g}/s", "-", f"caught up {caught_up:.1f} s after",
                str(lost), str(duplicated),
            ))  # fmt: skip
            verdicts.append(f"down and back: {'PASS' if lost == 0 and duplicated == 0 else 'FAIL'} "
                            f"(all owed received {caught_up:.0f} s after it came back; lost {lost})")  # fmt: skip
        lines = output_lines(log)
        rounds_failed = sum(line.startswith("Traceback") for line in lines)
        errors = sorted({line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)})
    notes.append(
        f"{options.webhook_workers} run_worker processes, {settings.WEBHOOK_SENDER_THREADS} sender threads each; "
        f"latency from the change's audit entry (inside its transaction) to arrival."
    )
    notes.append(
        "The retry wait doubles from 5 s to an hour (jittered), so a subscriber down for D seconds is retried "
        "within about D seconds of coming back."
    )
    if rounds_failed:
        notes.append(f"worker rounds that failed (logged, then tried again): {rounds_failed}: {errors[:3]}")
    how = "one aimodel_update each" if options.webhook_batch == 1 else f"{options.webhook_batch} a bulk status change"
    notes.append(f"rate: the changes per second the writer achieved (asked: {options.webhook_rate:g}; {how}).")
    notes.append(f"lost: owed and not received within {DRAIN_SECONDS} s of the last change (late counts as lost).")
    return Table(
        TITLE,
        ("case", "events x subscribers", "rate", "p50", "p99", "lost", "duplicated"),
        rows,
        notes=notes,
        verdict="\n".join(verdicts),
    )


def output_lines(log) -> list[str]:
    log.seek(0)
    return log.read().splitlines()
