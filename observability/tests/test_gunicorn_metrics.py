"""Under gunicorn (llm_admin/gunicorn.conf.py) the metrics of every worker are added up,
those of workers that have exited included: a scrape answered by any worker counts every
request. And the config file's parts: workers and threads, timeouts, max_requests with
jitter, the metrics directory."""

import os
import runpy
from pathlib import Path
from unittest import mock

from django.conf import settings

from conftest import ON_POSTGRES
from llm_admin.tests import servers
from observability.tests.scraping import TOKEN, Exposition, growth

CONFIG = Path(settings.BASE_DIR) / servers.CONFIG


def load_config(**environment: str | None) -> dict:
    """The config file's settings as gunicorn reads them, in this environment (None: unset)
    and no GUNICORN_ variable; the process's own environment is left as it was."""
    with mock.patch.dict(os.environ, {name: value for name, value in environment.items() if value is not None}):
        for name in [name for name in os.environ if name.startswith("GUNICORN_")]:
            os.environ.pop(name)
        for name in [name for name, value in environment.items() if value is None]:
            os.environ.pop(name, None)
        config = runpy.run_path(str(CONFIG))
        config["environment"] = dict(os.environ)
    return config


def test_the_config_sizes_workers_by_cores_and_recycles_them_with_jitter(tmp_path):
    config = load_config(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    assert config["worker_class"] == "gthread"
    assert config["workers"] == os.cpu_count()
    assert config["threads"] == 256
    assert (config["timeout"], config["graceful_timeout"], config["keepalive"]) == (60, 40, 5)
    assert (config["max_requests"], config["max_requests_jitter"]) == (10000, 1000)
    assert config["environment"]["DATABASE_POOL_MAX_SIZE"] == "10"


def test_the_config_makes_a_metrics_directory_for_its_run_and_removes_it_at_exit():
    config = load_config(PROMETHEUS_MULTIPROC_DIR=None)

    directory = Path(config["environment"]["PROMETHEUS_MULTIPROC_DIR"])
    assert directory.is_dir()
    config["on_exit"](None)
    assert not directory.exists()


def test_a_given_metrics_directory_is_emptied_of_an_earlier_runs_files_and_kept(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    config = load_config(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    config["on_starting"](None)
    config["on_exit"](None)

    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_a_dead_workers_live_gauges_are_dropped(tmp_path):
    config = load_config(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    config["child_exit"](None, mock.Mock(pid=4242))

    assert [path.name for path in tmp_path.iterdir()] == ["counter_4242.db"]  # its counts still count


def test_every_workers_requests_are_counted_those_of_workers_that_exited_too(tmp_path):
    """One worker at a time, replaced after every 3 requests: 12 requests are served by
    several processes in turn, and a scrape still counts all of them."""
    metrics_directory = tmp_path / "metrics"
    metrics_directory.mkdir()
    database = servers.current_database_url() if ON_POSTGRES else f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    environment = {
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory),
        "GUNICORN_MAX_REQUESTS": "3",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "GUNICORN_THREADS": "4",
    }
    scraped = {"Authorization": f"Bearer {TOKEN}"}

    with servers.gunicorn(database, config=True, workers=1, **environment) as port:

        def scrape() -> Exposition:
            status, _, body = servers.request(port, "GET", "/metrics", headers=scraped)
            assert status == 200, body
            return Exposition(body.decode())

        before = scrape()
        statuses = [servers.request(port, "GET", "/healthz")[0] for _ in range(12)]
        after = scrape()

    assert statuses == [200] * 12
    healthz = {"view": "healthz", "method": "GET"}
    assert growth(before, after, "llm_admin_http_responses_total", status="200", **healthz) == 12
    assert growth(before, after, "llm_admin_http_request_duration_seconds_count", **healthz) == 12
    processes = {path.stem.rsplit("_", 1)[1] for path in metrics_directory.glob("*.db")}
    assert len(processes) >= 4  # 15 requests (the start-up probe, the scrapes) at 3 per worker
