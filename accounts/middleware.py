import time

from django.contrib.auth import logout

from accounts.sessions import session_ends_at


class SessionLifetimeMiddleware:
    """Ends a session at its absolute lifetime, however active it has been (the idle
    timeout is the session cookie's age, renewed by every request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # No session key (an API request with a token, say): no session to end, and
        # `request.user` is left unread.
        session = getattr(request, "session", None)
        if session is not None and session.session_key and request.user.is_authenticated:
            ends_at = session_ends_at(request.session)
            if ends_at is not None and ends_at <= time.time():
                logout(request)
        return self.get_response(request)
