"""Session timestamps on sign-in (connected in AccountsConfig.ready)."""

from accounts.sessions import mark_authenticated


def on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request.session, signed_in=True)
