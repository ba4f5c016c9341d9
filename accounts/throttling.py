"""Throttling of the API: failed tokens per client address, and requests per client.

Both count in fixed windows in the Django cache (`cache.add` then `cache.incr`: atomic on
Redis), so every worker sharing Redis sees the same counts. The cache is a safeguard, not a
dependency: if it fails, requests are served unthrottled (and logged), never refused.
"""

import logging
import math

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import throttling
from rest_framework.settings import api_settings

from audit.choices import SecurityEventType
from audit.security import client_ip, record_security_event
from llm_admin.cache import CacheUnavailable

logger = logging.getLogger(__name__)

AUTH_FAILURES = "auth-failures"


def _window(scope: str, ident: str, seconds: int) -> tuple[str, int]:
    """The cache key of the current window, and the seconds until it ends."""
    now = timezone.now().timestamp()
    index = int(now // seconds)
    return f"throttle:{scope}:{ident}:{index}", max(1, math.ceil((index + 1) * seconds - now))


def _hit(key: str, seconds: int) -> int:
    """Counts one hit in this window; the count so far, this hit included."""
    try:
        return cache.incr(key)
    except ValueError:  # the window's first hit
        if cache.add(key, 1, timeout=seconds + 1):
            return 1
        return cache.incr(key)  # another worker added it meanwhile


def cache_failed(error: Exception, consequence: str) -> None:
    # While the breaker is open it has said so once already; a traceback per request would flood the log.
    if isinstance(error, CacheUnavailable):
        logger.debug("cache skipped; %s", consequence)
    else:
        logger.warning("cache unavailable; %s", consequence, exc_info=True)


# --- Failed tokens, per client address ------------------------------------------------


def auth_failure_retry_after(request) -> int | None:
    """Seconds until this client address may present a token again, or None if it may now."""
    limit, seconds = settings.API_AUTH_FAILURE_LIMIT, settings.API_AUTH_FAILURE_WINDOW
    if limit <= 0:
        return None
    key, retry_after = _window(AUTH_FAILURES, client_ip(request) or "unknown", seconds)
    try:
        failures = cache.get(key, 0)
    except Exception as error:  # fail open: a broken cache must not lock everyone out
        cache_failed(error, "failed tokens are not throttled")
        return None
    return retry_after if failures >= limit else None


def auth_failure_count(request) -> None:
    """Counts a failed token from this request's client address."""
    if settings.API_AUTH_FAILURE_LIMIT <= 0:
        return
    seconds = settings.API_AUTH_FAILURE_WINDOW
    key, _ = _window(AUTH_FAILURES, client_ip(request) or "unknown", seconds)
    try:
        _hit(key, seconds)
    except Exception as error:
        cache_failed(error, "a failed token was not counted")


# --- Requests per client (DRF's throttle machinery) -------------------------------------


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """API_RATE_LIMIT requests per window for each token (each user for admin sessions).
    Anonymous requests are not counted here: without credentials they are refused anyway."""

    scope = "client"

    def get_rate(self):
        # DRF copies the rates once, at import; read them live so that they follow the settings.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if request.auth is not None and getattr(request.auth, "pk", None) is not None:
            return f"token-{request.auth.pk}"
        if request.user is not None and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return None

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        key, self.retry_after = _window(self.scope, ident, self.duration)
        try:
            allowed = _hit(key, self.duration) <= self.num_requests
        except Exception as error:
            cache_failed(error, "API clients are not rate limited")
            return True
        if not allowed:
            record_security_event(SecurityEventType.RATE_LIMITED, request=request, detail={"limit": self.rate})
        return allowed

    def wait(self):
        return self.retry_after
