"""The one writer of the security log."""

from audit.choices import SecurityEventType
from audit.context import current_change
from audit.models import SecurityEvent


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy is configured.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_security_event(
    event: SecurityEventType, *, request=None, user=None, username: str = "", detail: dict | None = None
) -> SecurityEvent:
    # A DRF Request re-runs authentication when asked for .user; the Django request beneath it does not.
    request = getattr(request, "_request", request)
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return SecurityEvent.objects.create(
        event=event,
        user_id=user.pk if user is not None else None,
        username=(user.get_username() if user is not None else username)[:150],
        ip_address=client_ip(request),
        request_id=current_change().request_id,
        method=(request.method or "") if request is not None else "",
        path=request.get_full_path()[:500] if request is not None else "",
        detail=detail or {},
    )
