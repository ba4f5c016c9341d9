"""Session timing: when a sign-in happened, when the session must end, and whether a
destructive operation needs the password again."""

import time

from django.conf import settings

SIGNED_IN_AT = "llm_signed_in_at"
AUTHENTICATED_AT = "llm_authenticated_at"  # the last time the password was given


def mark_authenticated(session, *, signed_in: bool) -> None:
    now = time.time()
    session[AUTHENTICATED_AT] = now
    if signed_in:
        session[SIGNED_IN_AT] = now


def session_ends_at(session) -> int | None:
    signed_in = session.get(SIGNED_IN_AT)
    return signed_in + settings.SESSION_ABSOLUTE_LIFETIME if signed_in else None


def needs_reauthentication(session) -> bool:
    authenticated = session.get(AUTHENTICATED_AT, 0)
    return time.time() - authenticated > settings.REAUTHENTICATE_AFTER
