"""Requests while the cache hangs: the circuit breaker keeps the median request within 2x
of the one with a cache that answers (issue 10, item 9).

"Hung" is a TCP server that accepts connections and never answers, as a Redis frozen with
SIGSTOP does. Each case serves the same requests through the real stack (django.test.Client
with an API token: token authentication and its failed-token check, the per-client rate
limit, the view, the options cache): with the cache answering (Redis at REDIS_URL, or the
in-process cache without it), with the hung cache behind the breaker, and, for context, with
the hung cache and no breaker (Django's plain RedisCache: every cache call waits out the
socket timeout). Every answer is checked equal to the first case's. Target: median at most
2x the cache-answering case, for the breaker.
"""

import socket
import statistics
import time

import orjson
from django.conf import settings
from django.test import override_settings

from bench.harness import Table
from bench.list_api import admin_client
from bench.seeding import SyntheticCatalog

TITLE = "Requests while the cache hangs: median with the circuit breaker vs a cache that answers"
TARGET_RATIO = 2.0
MODELS = 2_000
REQUESTS = 60
UNGUARDED_REQUESTS = 1  # it waits out every cache call's timeout (and redis-py's retries)
SOCKET_TIMEOUT = 0.5
PATHS = ["/api/v1/models/options", "/api/v1/models?page_size=50"]


def run(options) -> Table:
    SyntheticCatalog().add(MODELS)
    client = admin_client()
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1024)  # never accepted: the kernel completes the handshakes, nobody answers
    hung_url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
    answering = (
        redis_cache("django.core.cache.backends.redis.RedisCache", settings.REDIS_URL)
        if settings.REDIS_URL
        else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    )
    cases = [
        ("cache answering" + (" (Redis)" if settings.REDIS_URL else " (in-process)"), answering, REQUESTS),
        ("cache hung, circuit breaker", redis_cache("llm_admin.cache.CircuitBreakerRedisCache", hung_url), REQUESTS),
        ("cache hung, no breaker (context)", redis_cache("django.core.cache.backends.redis.RedisCache", hung_url), 0),
    ]
    rows, medians, expected = [], {}, {}
    try:
        for label, caches, count in cases:
            count = count or UNGUARDED_REQUESTS
            with override_settings(CACHES=caches):
                for path in PATHS:
                    timings = []
                    for _ in range(count):
                        started = time.perf_counter()
                        response = client.get(path)
                        content = b"".join(response.streaming_content) if response.streaming else response.content
                        timings.append(time.perf_counter() - started)
                        body = orjson.loads(content)
                        assert response.status_code == 200, (label, path, response.status_code)
                        assert expected.setdefault(path, body) == body, (label, path, "a different answer")
                    medians[(label, path)] = statistics.median(timings)
    finally:
        hung.close()
    verdicts = []
    for label, _, count in cases:
        for path in PATHS:
            ratio = medians[(label, path)] / medians[(cases[0][0], path)]
            rows.append(
                (label, path, str(count or UNGUARDED_REQUESTS), f"{medians[(label, path)] * 1000:.1f}", f"{ratio:.2f}x")
            )
            if label == cases[1][0]:
                verdicts.append(ratio)
    worst = max(verdicts)
    verdict = f"worst median with the breaker: {worst:.2f}x (target <= {TARGET_RATIO:g}x): " + (
        "met" if worst <= TARGET_RATIO else "MISSED"
    )
    return Table(
        title=TITLE,
        headers=("case", "request", "requests", "median ms", "vs answering"),
        rows=rows,
        notes=[f"{MODELS:,} models; socket timeout {SOCKET_TIMEOUT} s; cooldown {settings.CACHE_FAILURE_COOLDOWN} s"],
        verdict=verdict,
    )


def redis_cache(backend: str, location: str) -> dict:
    return {
        "default": {
            "BACKEND": backend,
            "LOCATION": location,
            "KEY_PREFIX": "llm_admin_bench",
            "OPTIONS": {"socket_connect_timeout": SOCKET_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT},
        }
    }
