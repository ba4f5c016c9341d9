"""`wait=` on the change feed (docs/contract.md §7): a reader with nothing new waits, and is
answered as soon as a matching change commits (within a second), whichever process or
connection wrote it: PostgreSQL LISTEN/NOTIFY, else Redis pub/sub, else polling. A waiting
reader holds no database connection; its process holds one listener connection however
many readers wait."""

import itertools
import subprocess
import sys
import threading
import time

import orjson
import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit import feed, feed_wakeup
from audit.feed import FeedFilter, follow_changes
from audit.models import AuditLink
from llm_admin.tests import servers
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

WAKE_UP_SECONDS = 1.0  # the contract's bound: answered within a second of the commit


def newest() -> int:
    return AuditLink.objects.order_by("-position").values_list("position", flat=True).first() or 0


class Waiter(threading.Thread):
    """A reader waiting on the feed in a thread of its own (its own database connection)."""

    def __init__(self, wait: float, where: FeedFilter | None = None):
        super().__init__(daemon=True)
        self.after, self.wait, self.where = newest(), wait, where or FeedFilter()
        self.page, self.answered_at = None, None

    def run(self):
        try:
            self.page = follow_changes(after=self.after, limit=100, where=self.where, wait=self.wait)
            self.answered_at = time.monotonic()
        finally:
            connections.close_all()

    def start_waiting(self, count: int = 1) -> "Waiter":
        self.start()
        deadline = time.monotonic() + 10
        while feed_wakeup.bell().waiters < count:  # the same process's bell: it waits now
            assert time.monotonic() < deadline, "the reader never started waiting"
            time.sleep(0.01)
        return self


def test_a_waiting_reader_is_answered_as_soon_as_a_change_commits():
    provider = ProviderFactory()
    waiter = Waiter(wait=20).start_waiting()

    model = AIModelFactory(name="awaited", provider=provider)
    committed_at = time.monotonic()
    waiter.join(timeout=20)

    assert [event["object"]["name"] for event in waiter.page.results] == ["awaited"]
    assert waiter.answered_at - committed_at < WAKE_UP_SECONDS
    assert waiter.page.next == str(newest()) and model.pk


def test_a_waiting_reader_sleeps_through_changes_it_did_not_ask_for():
    watched = AIModelFactory(name="watched")
    waiter = Waiter(wait=20, where=FeedFilter(model_ids=frozenset({watched.pk}))).start_waiting()

    AIModelFactory(name="unrelated")
    time.sleep(0.5)  # long enough for a poll or a notice to have woken it
    still_waiting = waiter.is_alive()
    aimodel_update(model=watched, actor=None, description="now")
    committed_at = time.monotonic()
    waiter.join(timeout=20)

    assert still_waiting
    assert [(event["type"], event["model"]["name"]) for event in waiter.page.results] == [("model.updated", "watched")]
    assert waiter.answered_at - committed_at < WAKE_UP_SECONDS


def test_with_nothing_committed_the_wait_ends_empty_at_the_same_cursor():
    AIModelFactory()
    end = newest()
    started = time.monotonic()

    page = follow_changes(after=end, limit=100, wait=1)

    assert time.monotonic() - started >= 1
    assert (page.results, page.next) == ([], str(end))


def test_wait_zero_answers_at_once():
    started = time.monotonic()

    page = follow_changes(after=newest(), limit=100, wait=0)

    assert time.monotonic() - started < 0.5 and page.results == []


def other_connections() -> dict[int, str]:
    """The server process id and last statement of every other connection to this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


@pytest.mark.postgres
def test_waiting_readers_hold_no_connection_and_their_process_one_listener():
    provider = ProviderFactory()
    listen = f"LISTEN {feed_wakeup.CHANNEL}"
    # Threads of earlier tests in this process (a live server's, say) may still hold idle connections.
    earlier = {pid for pid, query in other_connections().items() if query != listen}
    waiters = [Waiter(wait=20) for _ in range(5)]
    for waiter in waiters:
        waiter.start()
    feed_wakeup.bell()
    deadline = time.monotonic() + 10
    while feed_wakeup.bell().waiters < len(waiters):
        assert time.monotonic() < deadline
        time.sleep(0.01)

    def opened_since() -> list[str]:
        return sorted(query for pid, query in other_connections().items() if pid not in earlier)

    opened = opened_since()
    while opened != [listen] and time.monotonic() < deadline:
        time.sleep(0.05)  # a connection just closed may be listed until its server process ends
        opened = opened_since()
    AIModelFactory(name="for-all", provider=provider)
    for waiter in waiters:
        waiter.join(timeout=20)

    assert opened == [listen]  # the listener, and no waiter's connection
    assert [[event["object"]["name"] for event in waiter.page.results] for waiter in waiters] == [["for-all"]] * 5


@pytest.mark.postgres
def test_a_rolled_back_change_rings_nobody():
    heard = feed_wakeup.bell().rings

    with pytest.raises(RuntimeError), transaction.atomic():
        AIModelFactory()
        raise RuntimeError("abandon")
    time.sleep(0.5)

    assert feed_wakeup.bell().rings == heard  # NOTIFY is delivered at commit, and only then


def test_the_wake_up_goes_by_the_database_else_redis_else_polling(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    with_redis = feed_wakeup.source_for("default")
    settings.REDIS_URL = ""
    without = feed_wakeup.source_for("default")

    if connection.vendor == "postgresql":
        assert type(with_redis) is type(without) is feed_wakeup.PostgresListener
    else:
        assert (type(with_redis), type(without)) == (feed_wakeup.RedisSubscriber, feed_wakeup.Poller)


@pytest.mark.redis
def test_a_redis_publish_from_another_process_rings_the_bell():
    bell = feed_wakeup.Bell(feed_wakeup.RedisSubscriber("default"))
    bell.start()
    heard = bell.rings
    channel = feed_wakeup.redis_channel("default")
    publish = f"import redis; redis.Redis.from_url({settings.REDIS_URL!r}).publish({channel!r}, b'')"
    waiting = threading.Thread(target=bell.wait, args=(heard, 10))
    waiting.start()

    sent_at = time.monotonic()
    subprocess.run([sys.executable, "-c", publish], check=True, timeout=30)
    waiting.join(timeout=10)

    assert bell.rings > heard
    assert time.monotonic() - sent_at < 5  # the subprocess's start-up is most of it
    bell.stop()


@pytest.mark.postgres
def test_a_reader_on_one_server_is_answered_when_another_server_commits(make_user):
    """Two real server processes (gunicorn, as configured for production): the reader waits
    on one, the write goes through the other."""
    _, key = api_token_create(user=make_user("editor"))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    ProviderFactory(slug="acme")
    url = servers.current_database_url()
    with servers.gunicorn(url, config=True) as reader, servers.gunicorn(url, config=True) as writer:
        after = newest()
        answer = {}

        def wait_on_reader():
            answer["response"] = servers.request(reader, "GET", f"/api/v1/changes?after={after}&wait=20", None, headers)
            answer["at"] = time.monotonic()

        waiting = threading.Thread(target=wait_on_reader)
        waiting.start()
        time.sleep(1.5)  # the request is in and waiting
        sent_at = time.monotonic()
        created = servers.request(
            writer, "POST", "/api/v1/models", b'{"name": "written-elsewhere", "provider": "acme"}', headers
        )
        waiting.join(timeout=30)

    assert created[0] == 201, created
    status, _, body = answer["response"]
    assert status == 200, body
    assert [event["object"]["name"] for event in orjson.loads(body)["results"]] == ["written-elsewhere"]
    assert answer["at"] - sent_at < WAKE_UP_SECONDS


def test_an_operator_may_keep_waits_shorter(settings, make_user):
    """CHANGE_FEED_MAX_WAIT (e.g. below a proxy's read timeout) caps what clients ask for."""
    settings.CHANGE_FEED_MAX_WAIT = 1
    _, key = api_token_create(user=make_user("viewer"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    started = time.monotonic()

    response = client.get("/api/v1/changes", {"after": newest(), "wait": 30})

    assert response.status_code == 200 and response.json()["results"] == []
    assert 1 <= time.monotonic() - started < 5


@pytest.mark.postgres  # SQLite's in-memory test database locks a reading thread out while this one writes in a loop
def test_a_waiting_reader_reads_again_at_most_every_fifth_of_a_second(monkeypatch):
    """However often unrelated changes commit (each a NOTIFY on PostgreSQL), a reader whose
    filter they miss reads again at most every REREAD_SECONDS."""
    watched = AIModelFactory(name="watched")
    others = [AIModelFactory(provider=watched.provider) for _ in range(2)]
    reads = []
    real_read = feed.read_changes
    monkeypatch.setattr(feed, "read_changes", lambda **kwargs: reads.append(time.monotonic()) or real_read(**kwargs))
    waiter = Waiter(wait=3, where=FeedFilter(model_ids=frozenset({watched.pk}))).start_waiting()

    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        aimodel_update(model=others[len(reads) % 2], actor=None, description=f"{time.monotonic()}")
    waiter.join(timeout=10)

    gaps = [later - earlier for earlier, later in itertools.pairwise(reads)]
    assert waiter.page.results == []
    assert gaps and min(gaps) >= feed.REREAD_SECONDS - 0.01
