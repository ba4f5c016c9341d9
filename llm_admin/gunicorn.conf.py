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

Every value can be set in the environment (GUNICORN_WORKERS, GUNICORN_THREADS,
DATABASE_POOL_MAX_SIZE) or, for gunicorn's own, on the command line, which wins over this file.
"""

import multiprocessing
import os

# Read by the settings in each worker (they inherit this process's environment).
os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "10")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 256))
# A change feed request may take its full wait (30 s) and then its read: well within this.
graceful_timeout = 40
