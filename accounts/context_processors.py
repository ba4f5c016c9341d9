from django.conf import settings

from accounts.sessions import session_ends_at


def session_times(request) -> dict:
    """What the admin's session-expiry warning needs to know."""
    session = getattr(request, "session", None)
    return {
        "session_idle_seconds": settings.SESSION_IDLE_TIMEOUT,
        "session_ends_at": (session_ends_at(session) or 0) if session is not None else 0,
    }
