"""Fixtures shared by every app's tests."""

import os

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
ON_REDIS = "redis" in django_settings.CACHES["default"]["BACKEND"].lower()
# .ci/run sets this for the PostgreSQL+Redis run: there, a missing service is a failure, not a skip.
SERVICES_REQUIRED = os.environ.get("LLM_ADMIN_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not ON_REDIS:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))


def pytest_sessionstart(session):
    if SERVICES_REQUIRED and not (ON_POSTGRES and ON_REDIS):
        raise pytest.UsageError("LLM_ADMIN_REQUIRE_SERVICES=1 but DATABASE_URL/REDIS_URL do not point at them.")


ROLE_NAMES = {"viewer": "Model Viewers", "editor": "Model Editors", "admin": "Model Administrators"}


@pytest.fixture
def make_user(django_user_model):
    """make_user("editor") -> a user in that role (or no role with None)."""

    def make(role=None, username=None, **extra):
        user = django_user_model.objects.create_user(
            username=username or f"{role or 'nobody'}-{django_user_model.objects.count() + 1}",
            password="correct horse battery staple",
            **extra,
        )
        if role is not None:
            user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
        return user

    return make


@pytest.fixture
def admin_user_(make_user):
    return make_user("admin", username="registry-admin")
