"""Webhook signing secrets, encrypted at rest.

A subscription's secret signs every delivery, so the app must be able to read it back
(a hash would not do); whoever reads the database must not. It is stored encrypted with
Fernet (AES-128-CBC and HMAC-SHA256, from the maintained `cryptography` package) under a
key derived from `WEBHOOK_SECRET_KEY` (else `SECRET_KEY`), which lives in the settings and
never in the database. Changing that key makes the stored secrets unreadable: deliveries
then fail saying so, and each subscription needs a new secret.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret): Standard Webhooks' prefix for a base64 signing secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
KEY_SALT = b"llm_admin.webhooks.secret"


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the configured key."""


def new_secret() -> str:
    """A fresh signing secret as Standard Webhooks writes it: `whsec_` + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    key = getattr(settings, "WEBHOOK_SECRET_KEY", "") or settings.SECRET_KEY
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(KEY_SALT + key.encode()).digest()))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "The signing secret cannot be decrypted: WEBHOOK_SECRET_KEY (or SECRET_KEY) changed since it was made. "
            "Give the subscription a new secret."
        ) from error
