"""Liveness and readiness, for load balancers and orchestrators."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from llm_admin.cache import CacheUnavailable


def healthz(request):
    """The process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database and the cache both answer; 503 naming what does not."""
    checks = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means not ready
        checks["database"] = f"error: {type(error).__name__}"
    try:
        cache.set("readyz", "ok", 5)
        if cache.get("readyz") != "ok":
            checks["cache"] = "error: value not kept"
    except CacheUnavailable as error:  # the circuit breaker is open: not even tried
        checks["cache"] = f"error: {error}"
    except Exception as error:
        checks["cache"] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)
