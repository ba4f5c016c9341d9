"""gunicorn's settings for production: `gunicorn -c llm_admin/gunicorn.conf.py llm_admin.wsgi`.

Threads serve the requests (the gthread worker), because a change feed request with `wait=`
holds its thread for up to 30 seconds: it holds no database connection meanwhile (see
docs/architecture.md, "The change feed"), but a thread it does. With THREADS threads per
worker, one worker alone can hold every waiting client of a typical deployment (200 in
the benchmark) and still have threads for everything else, so however the kernel spreads
connections over the workers, waiting clients never queue other requests behind them.
Threads that wait cost no CPU; the workers (one per CPU) are what run Python in parallel.

On PostgreSQL the threads of a worker share a pool of DATABASE_POOL_MAX_SIZE connections
(default 10 here; see llm_admin/settings.py): a thread holds one only while its request
runs, so the connections stay within what PostgreSQL allows (workers x pool size, plus
one LISTEN connection per worker) however many threads there are.

Each worker is replaced after about GUNICORN_MAX_REQUESTS requests (a random 0 to
GUNICORN_MAX_REQUESTS_JITTER more, so that workers do not all restart at once), which bounds
what a slow leak can grow to.

The workers' metrics (GET /metrics) are added up across workers, those that have exited
included, through files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess
mode): a directory of its own is made for each run unless one is given, and one that is
given is emptied when gunicorn starts, since what is in it belongs to an earlier run.

Every value can be set in the environment (GUNICORN_WORKERS, GUNICORN_THREADS,
GUNICORN_TIMEOUT, GUNICORN_MAX_REQUESTS, GUNICORN_MAX_REQUESTS_JITTER,
DATABASE_POOL_MAX_SIZE, PROMETHEUS_MULTIPROC_DIR) or, for gunicorn's own, on the command
line, which wins over this file.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

# Read by the settings in each worker (they inherit this process's environment).
os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "10")
_own_metrics_directory = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_directory:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="llm-admin-metrics-")
_metrics_directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 256))
# A gthread worker's main loop tells the master it is alive whatever its requests do (a wait
# on the change feed included): a worker silent this long is stuck, and is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
# A change feed request may take its full wait (30 s) and then its read: well within this.
graceful_timeout = 40
keepalive = 5  # seconds an idle connection from the proxy is kept open
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 1000))


def on_starting(server):
    """Metrics files left by an earlier run would be added to this one's."""
    for leftover in _metrics_directory.glob("*.db"):
        leftover.unlink()


def child_exit(server, worker):
    """A worker has exited: its live gauges go (its counts and histograms stay, summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_directory))


def on_exit(server):
    if _own_metrics_directory:
        shutil.rmtree(_metrics_directory, ignore_errors=True)
