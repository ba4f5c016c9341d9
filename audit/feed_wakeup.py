"""Waking the change feed's waiting readers (`wait=`) when a change commits, in any process.

Writers announce every transaction that links audit entries (`announce`, called by
`audit.chain` while it links them): on PostgreSQL a NOTIFY, which the server delivers when,
and only if, that transaction commits; on another database with REDIS_URL set, a PUBLISH
once it has committed (`transaction.on_commit`); with neither, nothing, and readers poll.

Readers wait on their process's one `Bell`. What brings the news into the process runs in
one daemon thread, started by the first waiter, with one connection of its own: a LISTEN
connection to PostgreSQL, a Redis subscription, or (polling) a database connection that
reads the newest chain position every POLL_SECONDS. So a process holds at most one such
connection however many requests wait, and a waiting request holds none. The thread ends,
closing it, after IDLE_SECONDS without a waiter.

A ring only says "something committed: read again". The reader's cursor, not the message,
decides what is new, so a lost, late or repeated message can neither lose nor repeat an
event; a lost one (a Redis PUBLISH that failed) delays an answer to the end of its wait at
most, and the client's next request reads the change. When the listener's connection fails,
every waiter is woken to read again, and re-reads every `audit.feed.RECHECK_SECONDS` until
the listener is back.
"""

import logging
import os
import threading
import time
from functools import partial

from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "llm_admin_changes"  # PostgreSQL's channels are per database already
POLL_SECONDS = 0.25
IDLE_SECONDS = 60.0
READY_SECONDS = 2.0  # how long a first waiter waits for the listener to be listening
RETRY_SECONDS = 1.0  # after the listener's connection fails
LISTEN_TICK = 1.0  # how often the listener looks up from its connection (to notice idleness)


def redis_channel(using: str) -> str:
    """Redis channels are global to the server: name the database whose changes they carry."""
    return f"{CHANNEL}:{connections[using].settings_dict['NAME']}"


def announce(using: str = "default") -> None:
    """Tell every process's waiting readers once this transaction commits."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    elif settings.REDIS_URL:
        transaction.on_commit(partial(_publish, redis_channel(using)), using=using, robust=True)


_redis_clients: dict[str, object] = {}


def _redis_client(url: str):
    import redis

    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _redis_clients[url]


def _publish(channel: str) -> None:
    try:
        _redis_client(settings.REDIS_URL).publish(channel, b"")
    except Exception:  # the change is committed; waiters will find it when they re-read
        logger.warning("could not publish a change notice to Redis", exc_info=True)


class Bell:
    """Rings whenever a change may have committed. A waiter notes `rings` before it reads
    and waits for the count to move past it, so a ring between its read and its wait is
    never missed."""

    def __init__(self, source):
        self._condition = threading.Condition()
        self._source = source
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.ready = threading.Event()  # the source is listening: every later commit rings
        self.rings = 0
        self.waiters = 0
        self.last_waited = time.monotonic()

    def ring(self) -> None:
        with self._condition:
            self.rings += 1
            self._condition.notify_all()

    def wait(self, heard: int, timeout: float) -> None:
        """Until a ring after `heard`, or `timeout` seconds."""
        with self._condition:
            self.waiters += 1
            try:
                self._condition.wait_for(lambda: self.rings != heard, timeout)
            finally:
                self.waiters -= 1
                self.last_waited = time.monotonic()

    def idle(self) -> bool:
        return self.waiters == 0 and time.monotonic() - self.last_waited > IDLE_SECONDS

    def should_stop(self) -> bool:
        return self._stopping.is_set() or self.idle()

    def start(self) -> None:
        """Start the source's thread unless it runs; wait (briefly) until it listens."""
        with self._condition:
            self.last_waited = time.monotonic()
            self._stopping.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="change-feed-bell", daemon=True)
                self._thread.start()
        if not self.ready.wait(READY_SECONDS):
            logger.warning("change feed: %s is not listening; waiting readers re-read on a timer", self._source)

    def stop(self) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=LISTEN_TICK + POLL_SECONDS + 5)

    def _run(self) -> None:
        while True:
            with self._condition:  # decided under the lock `start` takes: no waiter is left without a thread
                if self.should_stop():
                    self._thread = None
                    self.ready.clear()
                    return
            try:
                self._source.run(self)
            except Exception:
                logger.warning("change feed: %s failed; retrying", self._source, exc_info=True)
                self.ready.clear()
                self.ring()  # news may have been missed while it was down: readers read again
                self._stopping.wait(RETRY_SECONDS)


class PostgresListener:
    """LISTEN on a dedicated autocommit connection, made as Django makes its own."""

    def __init__(self, using: str):
        self.using = using

    def __str__(self) -> str:
        return "the PostgreSQL LISTEN connection"

    def run(self, bell: Bell) -> None:
        import psycopg

        params = connections[self.using].get_connection_params()
        params.pop("cursor_factory", None)
        with psycopg.Connection.connect(**params, autocommit=True) as listening:
            listening.execute(f"LISTEN {CHANNEL}")
            bell.ring()  # whatever committed before it listened: readers read again
            bell.ready.set()
            while not bell.should_stop():
                for _notice in listening.notifies(timeout=LISTEN_TICK):
                    bell.ring()


class RedisSubscriber:
    def __init__(self, using: str):
        self.channel = redis_channel(using)

    def __str__(self) -> str:
        return "the Redis subscription"

    def run(self, bell: Bell) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=LISTEN_TICK + 5)
        subscription = client.pubsub()
        try:
            subscription.subscribe(self.channel)
            deadline = time.monotonic() + READY_SECONDS
            # Listening only once Redis confirms: a PUBLISH it handled before would be missed.
            while (message := subscription.get_message(timeout=LISTEN_TICK)) is None or message["type"] != "subscribe":
                if time.monotonic() > deadline:
                    raise TimeoutError("Redis did not confirm the subscription")
            bell.ring()
            bell.ready.set()
            while not bell.should_stop():
                message = subscription.get_message(timeout=LISTEN_TICK)
                if message is not None and message["type"] == "message":
                    bell.ring()
        finally:
            subscription.close()
            client.close()


class Poller:
    """Reads the newest chain position every POLL_SECONDS while anyone waits."""

    def __init__(self, using: str):
        self.using = using

    def __str__(self) -> str:
        return "the poller"

    def newest(self) -> int:
        from audit.models import AuditLink

        return AuditLink.objects.using(self.using).order_by("-position").values_list("position", flat=True).first() or 0

    def run(self, bell: Bell) -> None:
        try:
            seen = self.newest()
            bell.ready.set()
            while not bell.should_stop():
                time.sleep(POLL_SECONDS)
                if bell.waiters:
                    newest = self.newest()
                    if newest != seen:
                        seen = newest
                        bell.ring()
        finally:
            connections[self.using].close()  # this thread's own connection


def source_for(using: str):
    """PostgreSQL's LISTEN/NOTIFY; else Redis pub/sub when REDIS_URL is set; else polling."""
    if connections[using].vendor == "postgresql":
        return PostgresListener(using)
    if settings.REDIS_URL:
        return RedisSubscriber(using)
    return Poller(using)


_bells: dict[tuple[int, str], Bell] = {}
_bells_lock = threading.Lock()


def bell(using: str = "default") -> Bell:
    """This process's bell for `using`, listening."""
    key = (os.getpid(), using)  # a forked worker gets its own thread and connection
    with _bells_lock:
        if key not in _bells:
            _bells[key] = Bell(source_for(using))
        found = _bells[key]
    found.start()
    return found


def stop_all() -> None:
    """Stop every bell of this process and forget them (tests: before the test database goes)."""
    with _bells_lock:
        bells = list(_bells.values())
        _bells.clear()
    for each in bells:
        each.stop()
