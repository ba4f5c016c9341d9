"""API token authentication: django-rest-knox's hashed tokens, sent as `Token <key>` or
`Bearer <key>` (so OpenAI SDKs work), with last-use tracking, rejections logged, and an
address that keeps failing refused (429) before its tokens are even looked at."""

import binascii
import datetime
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from accounts.models import ServiceToken
from accounts.throttling import auth_failure_count, auth_failure_retry_after
from audit.choices import SecurityEventType
from audit.security import record_security_event
from common.compiled import CompiledValues

SCHEMES = (b"token", b"bearer")
# Writing last_used_at on every request would make every read a write; once a minute is plenty.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


TOKEN_FIELDS = [field.attname for field in ServiceToken._meta.concrete_fields]
USER_FIELDS = [field.attname for field in get_user_model()._meta.concrete_fields]
# The tokens a key's first characters name, with their users: one statement, compiled once
# (common/compiled.py), as every API request runs it.
TOKENS_BY_KEY = CompiledValues(
    lambda key: (
        ServiceToken.objects.order_by()
        .filter(token_key=key)
        .values(*TOKEN_FIELDS, *(f"user__{name}" for name in USER_FIELDS))
    ),
    sample="token-key",
)


def tokens_by_key(key: str) -> list[ServiceToken]:
    """The tokens whose key (a token's first characters) is `key`, each with its user."""
    tokens, user_model, using = [], get_user_model(), ServiceToken.objects.db
    for row in TOKENS_BY_KEY.rows(key):
        token = ServiceToken.from_db(using, TOKEN_FIELDS, [row[name] for name in TOKEN_FIELDS])
        token.user = user_model.from_db(using, USER_FIELDS, [row[f"user__{name}"] for name in USER_FIELDS])
        tokens.append(token)
    return tokens


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

    def authenticate_credentials(self, token):
        """Knox's own check, over `tokens_by_key`: each token under the key is skipped if it
        has expired, and the one whose digest matches the token's hash authenticates its
        user, if active."""
        token = token.decode("utf-8")
        for auth_token in tokens_by_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as error:
                raise exceptions.AuthenticationFailed("Invalid token.") from error
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")

    def authenticate_header(self, request):
        return "Bearer"

    def _cleanup_token(self, auth_token) -> bool:
        """Refuse (and delete) this token when it has expired. Knox would also sweep every
        other token of the user on every request; expired tokens are refused all the same."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
