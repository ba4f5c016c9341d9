"""A hung Redis does not slow every request (issue 10, item 9): after one failure the cache
is skipped for CACHE_FAILURE_COOLDOWN seconds, requests are served from the database,
/readyz says 503 with the breaker open, and after the cooldown one call tries again.

The "Redis" here is a TCP server that accepts connections and never answers: a real hang.
No timing is asserted; the server counts the connections the app opened.
"""

import socket

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import api_token_create
from llm_admin import cache as breaker_module
from llm_admin.cache import CacheUnavailable
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

COOLDOWN = 30
OPTIONS = "/api/v1/models/options"


class HangingServer:
    """Accepts TCP connections (the kernel completes each handshake) and never answers."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.socket.setblocking(False)
        self.accepted: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def connections(self) -> int:
        """How many connections were opened to it so far."""
        while True:
            try:
                connection, _ = self.socket.accept()
            except BlockingIOError:
                return len(self.accepted)
            self.accepted.append(connection)  # held open, never read: the client waits

    def close(self):
        for connection in self.accepted:
            connection.close()
        self.socket.close()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    stopped = Clock()
    monkeypatch.setattr(breaker_module, "monotonic", stopped)
    return stopped


def breaker_cache(location: str):
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "llm_admin.cache.CircuitBreakerRedisCache",
                "LOCATION": location,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        },
        CACHE_FAILURE_COOLDOWN=COOLDOWN,
    )


@pytest.fixture
def hung_redis(clock):
    server = HangingServer()
    with breaker_cache(server.url):
        yield server
    server.close()


@pytest.fixture
def api(make_user):
    ProviderFactory(slug="acme")
    AIModelFactory(name="acme/b", provider__slug="zeta")
    AIModelFactory(name="acme/a", provider=ProviderFactory(slug="acme-2"))
    _, key = api_token_create(user=make_user("viewer"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [option["name"] for option in response.json()]


def test_a_hung_cache_is_tried_once_per_cooldown_not_once_per_request(hung_redis, clock, api):
    served = [names(api.get(OPTIONS)) for _ in range(10)]

    assert served == [["acme/a", "acme/b"]] * 10  # from the database, every time
    assert hung_redis.connections() == 1

    clock.now += COOLDOWN - 1
    assert names(api.get(OPTIONS)) == ["acme/a", "acme/b"]
    assert hung_redis.connections() == 1

    clock.now += 1  # the cooldown is over: one call tries again, fails, and opens it again
    more = [names(api.get(OPTIONS)) for _ in range(5)]
    assert more == [["acme/a", "acme/b"]] * 5
    assert hung_redis.connections() == 2


def test_readyz_says_503_while_the_breaker_is_open(hung_redis, clock, client):
    first = client.get("/readyz")  # this one waits for the hung cache, and opens the breaker
    clock.now += 7
    second = client.get("/readyz")

    assert first.status_code == second.status_code == 503
    assert first.json()["cache"] == "error: TimeoutError"
    assert second.json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": f"error: circuit breaker open after TimeoutError; the cache is skipped, next try in {COOLDOWN - 7} s",
    }
    assert hung_redis.connections() == 1


def test_a_refused_connection_opens_the_breaker_too(clock, api):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with breaker_cache(f"redis://127.0.0.1:{port}/0"):
        assert names(api.get(OPTIONS)) == ["acme/a", "acme/b"]

        with pytest.raises(CacheUnavailable):
            cache.get("anything")


def test_every_thread_of_the_process_shares_one_breaker(hung_redis, clock):
    import threading

    seen = []

    def in_another_thread():
        try:
            cache.get("key")
        except Exception as error:
            seen.append(type(error))

    with pytest.raises(Exception, match="Timeout"):
        cache.get("key")
    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()

    assert seen == [CacheUnavailable]  # another thread's own cache object did not try again
    assert hung_redis.connections() == 1


@pytest.mark.redis
def test_after_the_cooldown_a_cache_that_answers_again_closes_the_breaker(clock):
    with breaker_cache(settings.REDIS_URL):
        breaker = cache.breaker
        breaker.failed(ConnectionError("Redis restarting"))
        with pytest.raises(CacheUnavailable):
            cache.set("greeting", "hello")

        clock.now += COOLDOWN
        cache.set("greeting", "hello")

        assert cache.get("greeting") == "hello"  # closed: no clock movement needed any more
        assert cache.get("greeting") == "hello"
