"""Sign-ins and refused calls into the security log (connected in AuditConfig.ready)."""

from audit.choices import SecurityEventType
from audit.security import record_security_event


def on_login(sender, request, user, **kwargs):
    record_security_event(SecurityEventType.LOGIN_SUCCEEDED, request=request, user=user)


def on_logout(sender, request, user, **kwargs):
    record_security_event(SecurityEventType.LOGOUT, request=request, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))
    record_security_event(SecurityEventType.LOGIN_FAILED, request=request, user=None, username=username)


def on_request_refused(sender, request, detail, **kwargs):
    record_security_event(SecurityEventType.PERMISSION_DENIED, request=request, detail=detail)
