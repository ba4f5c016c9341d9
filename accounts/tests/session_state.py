"""An admin session as the tests read and age it: its row, whether it is signed in, and
its stored values (the sign-in and re-authentication times)."""

from django.conf import settings
from django.contrib.sessions.models import Session

from models_registry.tests.admin_pages import LOGIN

IDLE = settings.SESSION_IDLE_TIMEOUT
LIFETIME = settings.SESSION_ABSOLUTE_LIFETIME
REAUTH = settings.REAUTHENTICATE_AFTER
MARGIN = 30  # seconds kept away from each boundary: the test itself takes time


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def edit_session(client, **values) -> None:
    session = client.session
    for key, value in values.items():
        session[key] = value
    session.save()


def login_redirect(path: str) -> str:
    return f"{LOGIN}?next={path}"
