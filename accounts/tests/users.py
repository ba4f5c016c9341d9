"""Users in a role, made outside a fixture, and API clients holding a token of theirs."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.roles import ROLE_GROUPS
from accounts.services import api_token_create

PASSWORD = "correct horse battery staple"


def new_user(role: str | None, username: str, **extra):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role is not None:
        user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
    return user


def token_client(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        _, key = api_token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
