"""The change feed (issue 11): how fast one client reads it, how soon `wait` answers after a
commit, and whether clients waiting on it slow the rest of the API down.

- Reading: the events of a set-based import of `--feed-events` models, read by one client
  following the feed (`after` = the last `next`), through the real view stack
  (django.test.Client, an API token), at the default and the largest `limit`. Every event
  is checked read once, in order.
- Wake-up: gunicorn as configured for production (llm_admin/gunicorn.conf.py, gthread),
  WAITERS clients waiting with `wait=30`; this process commits a change (the update of one
  model); the time from the commit to each answer, p50 and p99 over ROUNDS commits. Every
  answer is checked to hold that change.
- Waiting clients do not starve others: GET /api/v1/models answered per second by the same
  server (CONCURRENCY clients with kept-alive connections, SECONDS seconds), with nobody
  waiting and with 200 clients waiting on the feed, taken in turn TURNS times. Target:
  at most 10% fewer with the waiting clients.
"""

import http.client
import os
import statistics
import threading
import time

import orjson
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.services import api_token_create
from audit.models import AuditLink
from bench.harness import Table
from bench.list_api import admin_client
from bench.seeding import SyntheticCatalog
from llm_admin.tests import servers
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel
from models_registry.services import aimodel_update

TITLE = "The change feed: reading it, waking waiters, and the rest of the API while 200 clients wait"
LIMITS = [100, 1000]
WAITERS, ROUNDS = 20, 25
CATALOG = 2_000  # models behind GET /api/v1/models
STARVING, CONCURRENCY, SECONDS, TURNS = 200, 8, 8.0, 5
TARGET_SHARE = 0.90  # of the throughput with nobody waiting
LIST_PATH = "/api/v1/models?page_size=50"


def run(options) -> list[Table]:
    return [reading(options.feed_events), *serving()]


def newest() -> int:
    return AuditLink.objects.order_by("-position").values_list("position", flat=True).first() or 0


def reading(events: int) -> Table:
    SyntheticCatalog().add(1)  # an empty registry with the synthetic catalog's providers
    start = newest()
    rows = "\n".join(f"feed-{n},bedrock" for n in range(events))
    import_models(read_source("feed.csv", f"name,provider\n{rows}\n".encode()), actor=None)
    expected = list(range(start + 1, newest() + 1))
    assert len(expected) == events, (len(expected), events)
    client = admin_client()
    table = []
    for limit in LIMITS:
        positions, after, requests = [], start, 0
        began = time.perf_counter()
        while True:
            response = client.get("/api/v1/changes", {"after": after, "limit": limit})
            requests += 1
            assert response.status_code == 200, response.content[:300]
            body = orjson.loads(response.content)
            positions += [int(event["cursor"]) for event in body["results"]]
            if not body["results"]:
                break
            after = body["next"]
        seconds = time.perf_counter() - began
        assert positions == expected, "an event missed, repeated or out of order"
        table.append((f"limit={limit}", f"{events:,}", str(requests), f"{seconds:.2f}", f"{events / seconds:,.0f}"))
    return Table(
        title="Change feed: one client following it from the start (events of a set-based import)",
        headers=("pages of", "events", "requests", "seconds", "events/s"),
        rows=table,
        notes=["through django.test.Client with an API token: middleware, authentication, throttling, the view"],
    )


def database_url() -> str:
    if connection.vendor == "postgresql":
        return servers.current_database_url()
    return f"sqlite:///{connection.settings_dict['NAME']}"


def api_key() -> str:
    admin = get_user_model().objects.get(username="bench-admin")
    return api_token_create(user=admin, name="feed benchmark")[1]


def get(port: int, path: str, key: str, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Waiting:
    """`count` clients, each waiting on the feed with wait=30 after the newest change."""

    def __init__(self, port: int, key: str, count: int):
        after = newest()
        self.answers: list[tuple[float, int, bytes]] = []
        self.lock = threading.Lock()
        path = f"/api/v1/changes?after={after}&wait=30"

        def wait():
            status, body = get(port, path, key)
            with self.lock:
                self.answers.append((time.perf_counter(), status, body))

        self.threads = [threading.Thread(target=wait, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)


def wake_ups(port: int, key: str, model: AIModel) -> list[float]:
    latencies = []
    for round_ in range(ROUNDS):
        waiting = Waiting(port, key, WAITERS)
        time.sleep(0.5)  # every request is in and waiting
        aimodel_update(model=model, actor=None, description=f"round {round_}")
        committed = time.perf_counter()
        waiting.join()
        for answered, status, body in waiting.answers:
            assert status == 200, body[:300]
            [event] = orjson.loads(body)["results"]
            assert event["changes"]["description"]["new"] == f"round {round_}"
            latencies.append(answered - committed)
    return latencies


def throughput(port: int, key: str) -> tuple[float, int]:
    """(GET /api/v1/models answered per second, errors) over SECONDS, CONCURRENCY clients."""
    done, errors, stop = [0] * CONCURRENCY, [0] * CONCURRENCY, time.perf_counter() + SECONDS

    def client(index: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}"}
        while time.perf_counter() < stop:
            conn.request("GET", LIST_PATH, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                done[index] += 1
            else:
                errors[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - began), sum(errors)


def database_connections() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def serving() -> list[Table]:
    SyntheticCatalog().add(CATALOG)
    admin_client()  # the benchmark's administrator
    key = api_key()
    model = AIModel.objects.order_by("pk").first()
    # No rate limit: one token sends thousands of requests a minute here.
    with servers.gunicorn(database_url(), config=True, workers=None, API_RATE_LIMIT="none") as port:
        assert get(port, LIST_PATH, key)[0] == 200
        latencies = sorted(wake_ups(port, key, model))
        rows, shares, most_connections = [], [], 0
        for turn in range(TURNS):
            alone, alone_errors = throughput(port, key)
            waiting = Waiting(port, key, STARVING)
            time.sleep(2.0)  # every waiting request is in
            loaded, loaded_errors = throughput(port, key)
            most_connections = max(most_connections, database_connections() or 0)
            answered_early = len(waiting.answers)
            aimodel_update(model=model, actor=None, description=f"release {turn}")  # wakes them all
            waiting.join()
            refused = [(status, body[:200]) for _, status, body in waiting.answers if status != 200]
            assert not refused, f"{len(refused)} waiting clients refused, e.g. {refused[:3]}"
            shares.append(loaded / alone)
            rows.append(
                (
                    str(turn + 1),
                    f"{alone:.0f}",
                    f"{loaded:.0f}",
                    f"{loaded / alone:.2f}",
                    str(alone_errors + loaded_errors),
                    str(answered_early),
                )
            )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    wake = Table(
        title="Change feed wait=: commit -> answer, gunicorn (llm_admin/gunicorn.conf.py)",
        headers=("waiting clients", "commits", "answers", "p50 ms", "p99 ms", "max ms"),
        rows=[
            (
                str(WAITERS),
                str(ROUNDS),
                str(len(latencies)),
                f"{p50 * 1000:.0f}",
                f"{p99 * 1000:.0f}",
                f"{latencies[-1] * 1000:.0f}",
            )
        ],
        notes=[f"woken by {'PostgreSQL NOTIFY' if connection.vendor == 'postgresql' else 'polling (no Redis here)'}"],
        verdict=f"p99 {p99 * 1000:.0f} ms (target: within 1 s): " + ("met" if p99 <= 1.0 else "MISSED"),
    )
    share = statistics.median(shares)
    notes = [
        f"{CONCURRENCY} clients with kept-alive connections, {SECONDS:g} s per measurement, {CATALOG:,} models; "
        f"'answered early': waiting clients answered before the release (should be 0)",
        "the turns alternate (alone, then waiting), so a slow spell of a shared machine touches both sides; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end",
    ]
    if most_connections:
        notes.append(f"at most {most_connections} connections to the database during the runs with clients waiting")
    starve = Table(
        title=f"GET /api/v1/models per second, alone and while {STARVING} clients wait on the feed",
        headers=("turn", "alone /s", "waiting /s", "share", "errors", "answered early"),
        rows=rows,
        notes=notes,
        verdict=f"median share {share:.2f} (target >= {TARGET_SHARE:.2f}): "
        + ("met" if share >= TARGET_SHARE else "MISSED"),
    )
    return [wake, starve]


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]
