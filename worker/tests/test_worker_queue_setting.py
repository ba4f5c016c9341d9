"""WORKER_QUEUE picks where deliveries are sent: `database` (the default, the embedded
worker) or `rq`, which needs REDIS_URL; anything else stops the start with a clear message."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from llm_admin.settings import worker_queue
from worker.steps import worker_steps


@pytest.mark.parametrize(
    ("engine", "redis_url", "expected"),
    [("database", "", "database"), ("database", "redis://r:6379/0", "database"), (" RQ ", "redis://r:6379/0", "rq")],
)
def test_the_engine_is_read_from_the_environment(engine, redis_url, expected):
    assert worker_queue(engine, redis_url) == expected


def test_rq_without_redis_is_refused():
    with pytest.raises(ImproperlyConfigured, match="WORKER_QUEUE=rq needs REDIS_URL"):
        worker_queue("rq", "")


@pytest.mark.parametrize("engine", ["celery", "kafka", "", "database,rq"])
def test_an_unknown_engine_is_refused(engine):
    with pytest.raises(ImproperlyConfigured, match="WORKER_QUEUE must be database or rq"):
        worker_queue(engine, "redis://r:6379/0")


def test_the_settings_refuse_rq_without_redis_before_anything_starts():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "llm_admin.settings", "WORKER_QUEUE": "rq"}
    env.pop("REDIS_URL", None)
    env.setdefault("DJANGO_SECRET_KEY", "x" * 50)

    finished = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )

    assert finished.returncode != 0
    assert "ImproperlyConfigured: WORKER_QUEUE=rq needs REDIS_URL" in finished.stderr


def test_by_default_the_worker_sends_in_its_own_threads():
    steps = {step.name: step for step in worker_steps()}

    assert settings.WORKER_QUEUE == "database"
    assert steps["webhook delivery"].threads == settings.WEBHOOK_SENDER_THREADS
    assert not settings.RQ_SHOW_ADMIN_LINK  # django-rq's page reads Redis: not shown without RQ
