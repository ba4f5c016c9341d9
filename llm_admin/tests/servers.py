"""The production server, gunicorn, run as a subprocess for tests that need a real HTTP
server between the client and the app (chunked bodies, a database that is not there)."""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from urllib.parse import quote

from django.conf import settings
from django.db import connection

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def current_database_url() -> str:
    """The URL of the database this test runs in (the test database): PostgreSQL, or an
    SQLite file."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


CONFIG = "llm_admin/gunicorn.conf.py"


@contextlib.contextmanager
def gunicorn(database_url: str, *, config: bool = False, workers: int | None = 1, **environment: str) -> Iterator[int]:
    """gunicorn serving llm_admin.wsgi on a free 127.0.0.1 port, with `workers` workers (None:
    as configured), and with `config` the production settings of llm_admin/gunicorn.conf.py;
    yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings",
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
        **environment,
    }
    if "REDIS_URL" not in environment:
        env.pop("REDIS_URL", None)  # the in-process cache: these tests are not about Redis
    # Named after its port: with setproctitle installed, gunicorn retitles its processes
    # "gunicorn: worker [<name>]", and this is how they are found (bench/scale.py).
    command = [sys.executable, "-m", "gunicorn", "llm_admin.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--name", f"llm_admin-{port}"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if config:
        command += ["--config", CONFIG]
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)

        def output() -> str:
            log.seek(0)
            return log.read()[-3000:]

        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                assert process.poll() is None, f"gunicorn exited:\n{output()}"
                try:
                    if request(port, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"gunicorn did not answer /healthz:\n{output()}"
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
    """One request with http.client; `body` may be an iterable of bytes, sent chunked."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=not isinstance(body, bytes | None))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
