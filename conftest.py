"""Fixtures shared by every app's tests."""

import fcntl
import gc
import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management.sql import emit_post_migrate_signal
from hypothesis import HealthCheck, Phase, settings
from rest_framework.test import APIClient

from accounts.services import api_token_create
from models_registry.models import Industry

settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=300)
# The properties run in full on the embedded default (`make test`, and CI's first run); on
# PostgreSQL, where each example's hundred requests cost a network round trip per query,
# CI's second run checks what the backend changes with fewer examples each.
settings.register_profile("postgres", parent=settings.get_profile("default"), max_examples=15)
# `make mutation` runs the selected tests once per mutant (docs/mutation.md): there each
# property gets 5 examples, so a surviving mutant costs seconds rather than minutes; the same
# 5 each time (derandomize), so a verdict does not depend on the draw; and a failing example
# is not shrunk (a kill needs the failure, not the smallest example, and shrinking can take
# minutes). mutmut's trampolines call each function through a wrapper, which Hypothesis can
# take for a test run by differing executors.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("default"),
    max_examples=5,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
    ],
)

ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("postgres" if ON_POSTGRES else "default"))
ON_REDIS = "redis" in django_settings.CACHES["default"]["BACKEND"].lower()
# .ci/run sets this for the PostgreSQL+Redis run: there, a missing service is a failure, not a skip.
SERVICES_REQUIRED = os.environ.get("LLM_ADMIN_REQUIRE_SERVICES") == "1"


# .ci/run sets this for its SQLite run: the PostgreSQL/Redis tests are left for its second
# run instead of being reported as skipped.
DESELECT_UNAVAILABLE = os.environ.get("LLM_ADMIN_DESELECT_UNAVAILABLE") == "1"


def unavailable_service(item) -> str | None:
    if "postgres" in item.keywords and not ON_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if "redis" in item.keywords and not ON_REDIS:
        return "needs Redis: set REDIS_URL=redis://..."
    return None


def pytest_collection_modifyitems(config, items):
    left_out = []
    for item in items:
        reason = unavailable_service(item)
        if reason and DESELECT_UNAVAILABLE:
            left_out.append(item)
        elif reason:
            item.add_marker(pytest.mark.skip(reason=reason))
    if left_out:
        items[:] = [item for item in items if item not in left_out]
        config.hook.pytest_deselected(items=left_out)


# `make mutation` runs two mutants at a time, each pytest run in a process of its own: each
# takes the first of the test database files (LLM_ADMIN_TEST_DATABASE_FILE, numbered) that no
# other run holds, and holds it until it exits, so two runs never share one.
_database_slot = None


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    global _database_slot
    base = os.environ.get("LLM_ADMIN_TEST_DATABASE_FILE")
    if not base or "TEST" not in django_settings.DATABASES["default"]:
        return
    if _database_slot is not None:  # an earlier session of this process (or of its parent) held one
        _database_slot.close()
    path = Path(base)
    for number in range(16):
        database = path.with_stem(f"{path.stem}-{number}")
        slot = open(database.with_suffix(".lock"), "w")  # noqa: SIM115 (held until exit)
        try:
            fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            slot.close()
            continue
        _database_slot = slot
        django_settings.DATABASES["default"]["TEST"]["NAME"] = str(database)
        return
    raise pytest.UsageError(f"All 16 test databases beside {base} are in use.")


def pytest_sessionstart(session):
    if SERVICES_REQUIRED and not (ON_POSTGRES and ON_REDIS):
        raise pytest.UsageError("LLM_ADMIN_REQUIRE_SERVICES=1 but DATABASE_URL/REDIS_URL do not point at them.")


@pytest.fixture(autouse=True)
def _cycle_collector_left_on():
    """The import_models command pauses Python's cycle collector (models_registry/importing/cycle_collector.py);
    no test, and nothing it runs, may leave it off for the tests after it."""
    yield
    assert gc.isenabled(), "Python's cycle collector was left off"


REFERENCE_DATA = importlib.import_module("models_registry.migrations.0002_roles_and_starter_industries")
WEBHOOK_RIGHTS = importlib.import_module("webhooks.migrations.0002_administrators_manage_webhooks")
REVERT_RIGHTS = importlib.import_module("audit.migrations.0008_revert_source_and_right")


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request):
    """A transactional test empties every table when it ends, the roles and the starter
    industries that migrations create included; the next one puts them back first."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if transactional:
        request.getfixturevalue("transactional_db")
        if not Permission.objects.exists():  # a flush that skipped post_migrate
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        if not Group.objects.filter(name__in=ROLE_NAMES.values()).exists():
            REFERENCE_DATA.assign_roles(django_apps)
            WEBHOOK_RIGHTS.grant_administrators(django_apps)
            REVERT_RIGHTS.grant_administrators(django_apps)
        if not Industry.objects.exists():
            # As the migration makes them: without history or audit entries.
            Industry.objects.bulk_create(
                Industry(slug=slug, name=name, description=description, settings_schema=schema)
                for slug, name, description, schema in REFERENCE_DATA.INDUSTRIES
            )
    yield
    if transactional and ON_POSTGRES:
        _lift_truncate_guard()


def _lift_truncate_guard():
    """The flush that ends a transactional test empties every table with TRUNCATE, which the
    log tables refuse; the flush's post_migrate puts the guard back (audit.append_only)."""
    from django.db import connection

    from audit.append_only import append_only_models

    with connection.cursor() as cursor:
        for model in append_only_models():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DROP TRIGGER IF EXISTS llm_admin_no_truncate ON {table}")


@pytest.fixture(autouse=True)
def _change_feed_listeners_stopped():
    """A test that waited on the change feed started its process's listener thread, whose
    connection would outlive the test (and keep the test database from being dropped)."""
    yield
    from audit.feed_wakeup import stop_all

    stop_all()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: no throttle counts (failed tokens, requests per
    client) or cached lists carried over from an earlier test."""
    cache.clear()
    yield


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
def api_as(make_user):
    """api_as("editor") -> an APIClient sending a fresh token of a new user in that role (the
    user is its `.user`); a 500 is an answer to assert on, not an exception."""

    def make(role: str, **extra):
        user = make_user(role, **extra)
        _, key = api_token_create(user=user)
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.user = user
        return client

    return make


@pytest.fixture
def api(make_user):
    """An APIClient with an administrator's token; a 500 is an answer, not an exception."""

    _, key = api_token_create(user=make_user("admin"))
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def admin_user_(make_user):
    return make_user("admin", username="registry-admin")


@pytest.fixture
def rq_queue(settings):
    """WORKER_QUEUE=rq, on an RQ queue of the tests' own in the Redis of REDIS_URL; that queue
    and its jobs are removed before and after, and nothing else there is touched."""
    import django_rq

    settings.WORKER_QUEUE = "rq"
    settings.WORKER_RQ_QUEUE = "llm_admin_tests"
    settings.RQ_QUEUES = {settings.WORKER_RQ_QUEUE: {"URL": settings.REDIS_URL}}
    queue = django_rq.get_queue(settings.WORKER_RQ_QUEUE, commit_mode="auto")
    _remove_rq_queue(queue)
    yield queue
    _remove_rq_queue(queue)
    queue.connection.close()


def _remove_rq_queue(queue) -> None:
    registries = [queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry]
    for registry in registries:
        for job_id in registry.get_job_ids(cleanup=False):
            registry.remove(job_id, delete_job=True)
    queue.delete(delete_jobs=True)
