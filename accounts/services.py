"""Service accounts and their API tokens. Every token event goes to the security log."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import ServiceToken
from accounts.roles import ROLE_GROUPS
from audit.choices import SecurityEventType
from audit.security import record_security_event


def service_account_save(*, name: str, role: str):
    """Create or update a non-interactive user (no password, no admin access) in `role` only."""
    User = get_user_model()
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=name)
        user.set_unusable_password()
        user.is_staff = user.is_superuser = False
        user.is_active = True
        user.save()
        user.groups.set([Group.objects.get(name=ROLE_GROUPS[role])])
    return user


def api_token_create(*, user, expires_in: datetime.timedelta | None = None, name: str = "") -> tuple[ServiceToken, str]:
    """A new token for `user`; the key is returned once and only its hash is kept."""
    token, key = ServiceToken.objects.create(user=user, expiry=expires_in, name=name)
    record_security_event(
        SecurityEventType.TOKEN_CREATED,
        user=user,
        detail={"token_key": token.token_key, "expiry": token.expiry.isoformat() if token.expiry else None},
    )
    return token, key


def api_tokens_revoke(*, user, tokens=None) -> int:
    """Revoke (delete) the given tokens of `user`, or all of them: all, each logged, or none."""
    tokens = tokens if tokens is not None else ServiceToken.objects.filter(user=user)
    with transaction.atomic():
        keys = list(tokens.values_list("token_key", flat=True))
        tokens.delete()
        for key in keys:
            record_security_event(SecurityEventType.TOKEN_REVOKED, user=user, detail={"token_key": key})
    return len(keys)
