"""The one writer of the security log, and the one reading of where a request came from."""

import datetime
import ipaddress

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.choices import AGGREGATED_SECURITY_EVENTS, SecurityEventType
from audit.context import current_change
from audit.models import SecurityEvent


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, unless DJANGO_TRUST_PROXY_HEADERS says a proxy in
    front of the app sets X-Forwarded-For; then its last address, the one that proxy added
    (the ones before it are whatever the client sent). Used by the security log, the
    throttles and django-axes (AXES_CLIENT_IP_CALLABLE), so all three agree."""
    if request is None:
        return None
    request = getattr(request, "_request", request)
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass  # no or a malformed header: the proxy's own address is all we know
    return request.META.get("REMOTE_ADDR") or None


def aggregation_key(event: str, ip_address: str | None, user_id: int | None, when) -> str:
    """What makes security events identical: the type, the address, the user and the minute."""
    minute = when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
    return f"{event}|{ip_address or ''}|{user_id or ''}|{minute}"


def record_security_event(
    event: SecurityEventType, *, request=None, user=None, username: str = "", detail: dict | None = None
) -> int:
    """Records one event; returns the id of the row it is in (a counted row for events a
    client can repeat, see AGGREGATED_SECURITY_EVENTS)."""
    # A DRF Request re-runs authentication when asked for .user; the Django request beneath it does not.
    request = getattr(request, "_request", request)
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    now = timezone.now()
    row = SecurityEvent(
        timestamp=now,
        last_seen_at=now,
        event=event,
        user_id=user.pk if user is not None else None,
        username=(user.get_username() if user is not None else username)[:150],
        ip_address=client_ip(request),
        request_id=current_change().request_id,
        method=(request.method or "") if request is not None else "",
        path=request.get_full_path()[:500] if request is not None else "",
        detail=detail or {},
    )
    if event not in AGGREGATED_SECURITY_EVENTS:
        row.save()
        return row.pk
    row.aggregation_key = aggregation_key(event, row.ip_address, row.user_id, now)
    return _insert_or_count(row)


def _insert_or_count(row: SecurityEvent) -> int:
    """INSERT the row, or, if its minute's row exists, add one to that row's count: one
    atomic statement on PostgreSQL and SQLite alike, so concurrent workers never lose a
    count. This is the only UPDATE the log ever sees (the PostgreSQL trigger lets exactly
    this through: `count` up, `last_seen_at` not back, every other column unchanged)."""
    meta = SecurityEvent._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    table, count, last_seen = quote(meta.db_table), quote("count"), quote("last_seen_at")
    latest = "GREATEST" if connection.vendor == "postgresql" else "MAX"  # SQLite's scalar max()
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608 (identifiers only)
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('aggregation_key')}) DO UPDATE SET {count} = {table}.{count} + 1, "
        f"{last_seen} = {latest}({table}.{last_seen}, EXCLUDED.{last_seen}) "
        f"RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
