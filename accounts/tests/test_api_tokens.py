"""API tokens: stored only as hashes, taken under both schemes, their last use recorded;
a bad, expired, revoked or inactive user's token is a 401 with a security-log row."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from accounts.models import ServiceToken
from accounts.services import api_token_create, api_tokens_revoke
from accounts.tests.users import new_user
from audit.models import SecurityEvent


@pytest.fixture
def viewer():
    return new_user("viewer", "token-viewer")


def get_models(authorization: str | None):
    client = APIClient(raise_request_exception=False)
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/api/v1/models")


@pytest.mark.django_db
def test_tokens_are_stored_only_as_hashes(viewer):
    token, key = api_token_create(user=viewer, name="ci")

    stored = ServiceToken.objects.filter(pk=token.pk).values().get()

    assert all(key not in str(value) for value in stored.values())
    assert stored["digest"] == hash_token(key)
    assert len(key) > len(stored["token_key"])


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_token_and_bearer_schemes_both_work(viewer, scheme):
    _, key = api_token_create(user=viewer)

    response = get_models(f"{scheme} {key}")

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_last_used_at_is_recorded_when_a_token_is_used(viewer):
    token, key = api_token_create(user=viewer)
    before = timezone.now()

    unused = ServiceToken.objects.get(pk=token.pk).last_used_at
    get_models(f"Bearer {key}")

    used = ServiceToken.objects.get(pk=token.pk).last_used_at
    assert unused is None
    assert used is not None and before <= used <= timezone.now()


def rejections() -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(event="token_rejected").order_by("id"))


@pytest.mark.django_db
def test_an_expired_token_is_rejected_and_logged(viewer):
    token, key = api_token_create(user=viewer, expires_in=datetime.timedelta(days=1))
    ServiceToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))

    response = get_models(f"Bearer {key}")

    assert response.status_code == 401
    assert [(e.event, e.path, e.method) for e in rejections()] == [("token_rejected", "/api/v1/models", "GET")]
    assert SecurityEvent.objects.filter(event="permission_denied").count() == 0


@pytest.mark.django_db
def test_a_revoked_token_is_rejected_and_logged(viewer):
    _, key = api_token_create(user=viewer)
    assert get_models(f"Bearer {key}").status_code == 200
    api_tokens_revoke(user=viewer)

    response = get_models(f"Token {key}")

    assert response.status_code == 401
    assert [e.event for e in rejections()] == ["token_rejected"]
    assert response.json().keys() == {"detail"}


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", ["Bearer junk", "Token junk", "Bearer", "Bearer a b", "Bearer \xff"])
def test_a_bad_token_is_a_401_logged_once_as_rejected(authorization):
    response = get_models(authorization)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert [e.event for e in rejections()] == ["token_rejected"]
    assert SecurityEvent.objects.count() == 1


@pytest.mark.django_db
def test_an_inactive_users_token_is_rejected(viewer):
    _, key = api_token_create(user=viewer)
    get_user_model().objects.filter(pk=viewer.pk).update(is_active=False)

    response = get_models(f"Bearer {key}")

    assert response.status_code == 401
    assert [e.event for e in rejections()] == ["token_rejected"]


@pytest.mark.django_db
def test_no_credentials_is_a_401_naming_the_scheme_and_logged():
    response = get_models(None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert [e.event for e in SecurityEvent.objects.all()] == ["permission_denied"]
