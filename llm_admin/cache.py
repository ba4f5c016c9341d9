"""The shared cache: Django's RedisCache behind a circuit breaker.

A Redis that refuses connections, or worse hangs, would make every request that touches
the cache wait out the socket timeout. After one such failure the breaker opens: for
CACHE_FAILURE_COOLDOWN seconds every cache call fails at once with `CacheUnavailable`,
which every caller already treats as "no cache" (the options list and the dashboard come
from the database, the throttles let requests through, /readyz says 503). Then one call
tries Redis again: if it answers, the breaker closes; if not, it stays open for another
cooldown. The state is per process, shared by its threads (Django makes a cache object per
thread), so each worker tries Redis at most once per cooldown while it is down.
"""

import functools
import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from prometheus_client import Counter
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)
monotonic = time.monotonic  # the breaker's clock (tests move it instead of sleeping)
FAILURES = (RedisConnectionError, RedisTimeoutError)
# The cache's own metrics, exposed by GET /metrics with the rest (observability/metrics.py).
CACHE_LOOKUPS = Counter(
    "llm_admin_cache_lookups",
    "Reads of a cached value, by cache (model_options, dashboard) and result: hit, miss (computed from "
    "the database and stored), or unavailable (the cache failed or its circuit breaker is open).",
    ["cache", "result"],
)
CACHE_UNAVAILABLE = Counter(
    "llm_admin_cache_unavailable",
    "Calls to the shared cache (Redis) that failed, by reason: error (a connection error or timeout, "
    "which opens the circuit breaker) or circuit_open (skipped while the breaker is open).",
    ["reason"],
)


def cache_lookup(cache: str, result: str) -> None:
    CACHE_LOOKUPS.labels(cache=cache, result=result).inc()


class CacheUnavailable(Exception):
    """The breaker is open: the cache failed recently and is not being tried."""


class CircuitBreaker:
    def __init__(self, location: str):
        self.location = location
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._error = ""

    def before_call(self) -> None:
        """Raises CacheUnavailable while open; after the cooldown lets one caller through to try."""
        if self._open_until is None:  # closed: no lock on the common path
            return
        with self._lock:
            if self._open_until is None:
                return
            now = monotonic()
            if now < self._open_until:
                CACHE_UNAVAILABLE.labels(reason="circuit_open").inc()
                raise CacheUnavailable(self.describe(now))
            # This caller tries Redis; everyone else keeps skipping it until it has answered.
            self._open_until = now + settings.CACHE_FAILURE_COOLDOWN

    def succeeded(self) -> None:
        if self._open_until is not None:
            with self._lock:
                self._open_until = None
            logger.warning("cache at %s answers again; circuit breaker closed", self.location)

    def failed(self, error: Exception) -> None:
        CACHE_UNAVAILABLE.labels(reason="error").inc()
        with self._lock:
            self._open_until = monotonic() + settings.CACHE_FAILURE_COOLDOWN
            self._error = type(error).__name__
        logger.warning(
            "cache at %s failed (%s); skipped for %s s", self.location, self._error, settings.CACHE_FAILURE_COOLDOWN
        )

    def describe(self, now: float) -> str:
        left = max(0, math.ceil(self._open_until - now))
        return f"circuit breaker open after {self._error}; the cache is skipped, next try in {left} s"


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str) -> CircuitBreaker:
    """The process's one breaker for this cache location (shared by every thread's cache object)."""
    with _breakers_lock:
        return _breakers.setdefault(location, CircuitBreaker(location))


def _guarded(name: str):
    call_redis = getattr(RedisCacheClient, name)

    @functools.wraps(call_redis)
    def call(self, *args, **kwargs):
        self.breaker.before_call()
        try:
            result = call_redis(self, *args, **kwargs)
        except FAILURES as error:
            self.breaker.failed(error)
            raise
        except Exception:
            self.breaker.succeeded()  # Redis answered (e.g. incr of a missing key)
            raise
        self.breaker.succeeded()
        return result

    return call


class CircuitBreakerRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, breaker: CircuitBreaker, **options):
        super().__init__(servers, **options)
        self.breaker = breaker


# Every operation RedisCacheClient sends to Redis; the rest of Django's cache API is built on these.
for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(CircuitBreakerRedisCacheClient, _name, _guarded(_name))


class CircuitBreakerRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = CircuitBreakerRedisCacheClient
        self.breaker = breaker_for(",".join(self._servers))
        # One try per call: the breaker is the retry policy (redis-py would otherwise retry a
        # hung call, waiting out the socket timeout several times).
        self._options = {"retry": Retry(NoBackoff(), 0), **self._options, "breaker": self.breaker}
