"""API token authentication: django-rest-knox's hashed tokens, sent as `Token <key>` or
`Bearer <key>` (so OpenAI SDKs work), with last-use tracking, rejections logged, and an
address that keeps failing refused (429) before its tokens are even looked at."""

import datetime

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from accounts.throttling import auth_failure_count, auth_failure_retry_after
from audit.choices import SecurityEventType
from audit.security import record_security_event

SCHEMES = (b"token", b"bearer")
# Writing last_used_at on every request would make every read a write; once a minute is plenty.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class AuthenticationThrottled(exceptions.Throttled):
    default_detail = "Too many failed tokens from this address."


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        retry_after = auth_failure_retry_after(request)
        if retry_after is not None:
            record_security_event(SecurityEventType.AUTH_THROTTLED, request=request, user=None)
            raise AuthenticationThrottled(wait=retry_after)
        try:
            if len(parts) != 2:
                raise exceptions.AuthenticationFailed("Invalid token header: send 'Bearer <token>'.")
            try:
                parts[1].decode("ascii")
            except UnicodeDecodeError as error:
                raise exceptions.AuthenticationFailed("Invalid token.") from error
            user, token = self.authenticate_credentials(parts[1])
        except exceptions.AuthenticationFailed as error:
            record_security_event(
                SecurityEventType.TOKEN_REJECTED, request=request, user=None, detail={"reason": str(error.detail)}
            )
            auth_failure_count(request)
            raise
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request):
        return "Bearer"

    def _cleanup_token(self, auth_token) -> bool:
        """Refuse (and delete) this token when it has expired. Knox would also sweep every
        other token of the user on every request; expired tokens are refused all the same."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
