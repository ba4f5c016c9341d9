"""The production settings pass Django's deployment checklist."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_check_deploy_is_clean_under_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="llm_admin.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    # An empty value also keeps a local .env from supplying one.
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="llm_admin.settings", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=""
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def settings_value(expression: str, **env) -> subprocess.CompletedProcess:
    """`expression` over llm_admin.settings, read in a fresh process with `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))} | env
    code = f"from llm_admin import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_a_connection_pool_replaces_per_thread_connections_when_its_size_is_set():
    """llm_admin/gunicorn.conf.py sets DATABASE_POOL_MAX_SIZE: its many threads share the pool."""
    base = {"DJANGO_SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://app@127.0.0.1:5432/registry"}
    database = "(settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['OPTIONS'].get('pool'))"

    pooled = settings_value(database, **base, DATABASE_POOL_MAX_SIZE="7")
    unpooled = settings_value(database, **base)

    assert pooled.stdout.strip() == "(0, {'min_size': 1, 'max_size': 7, 'timeout': 10})", pooled.stderr
    assert unpooled.stdout.strip() == "(60, None)", unpooled.stderr


def test_change_feed_waits_are_capped_at_the_contracts_30_seconds():
    refused = settings_value("settings.CHANGE_FEED_MAX_WAIT", DJANGO_SECRET_KEY="x" * 50, CHANGE_FEED_MAX_WAIT="31")
    lowered = settings_value("settings.CHANGE_FEED_MAX_WAIT", DJANGO_SECRET_KEY="x" * 50, CHANGE_FEED_MAX_WAIT="10")

    assert refused.returncode != 0 and "CHANGE_FEED_MAX_WAIT" in refused.stderr
    assert lowered.stdout.strip() == "10"
