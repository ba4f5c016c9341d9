"""The selection list is consistent across processes that share Redis (docs/contract.md §3: "visible
here as soon as its transaction commits, in every process sharing the cache").

Process A is the test's live server (a thread of this process); process B is a second
server started from the command line against the same test database and the same Redis.
B warms its view of the cache, a change goes through A, and B must show it at once.
"""

import os
import subprocess
import sys
import tempfile
import time

import pytest
import redis
import requests
from django.conf import settings

from accounts.services import api_token_create
from llm_admin.tests.servers import STARTUP_SECONDS, current_database_url, free_port
from models_registry.choices import ModelStatus
from models_registry.models import AIModel
from models_registry.services import aimodel_create
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    # Committed data, so that process B sees it; the root conftest restores the roles the
    # migrations made.
    pytest.mark.django_db(transaction=True),
]

OPTIONS = "/api/v1/models/options"


@pytest.fixture
def process_b(live_server):
    """Another server process, sharing the test database and Redis; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings",
        "DATABASE_URL": current_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def output() -> str:
            log.seek(0)
            return log.read()[-3000:]

        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                assert process.poll() is None, f"process B exited:\n{output()}"
                try:
                    if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, f"process B did not answer /healthz:\n{output()}"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def shared_redis():
    """The Redis both processes use, without option lists left by earlier runs."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("*aimodel-options*"):
        client.delete(key)
    return client


def expected_names() -> list[str]:
    """The selection list as a fresh database read computes it: active, by provider then name."""
    return list(
        AIModel.objects.filter(status=ModelStatus.ACTIVE)
        .order_by("provider__slug", "name")
        .values_list("name", flat=True)
    )


def test_a_change_through_process_a_is_visible_in_process_b_at_once(live_server, process_b, shared_redis, make_user):
    provider = ProviderFactory(slug="acme")
    chat = AIModelFactory(name="acme/chat:v1", provider=provider)
    embed = AIModelFactory(name="acme/embed", provider=provider, model_type="embedding")
    AIModelFactory(name="zeta/other", provider=ProviderFactory(slug="zeta"))
    _, key = api_token_create(user=make_user("admin"))
    auth = {"Authorization": f"Bearer {key}"}

    def from_b(path=OPTIONS, **params):
        response = requests.get(f"{process_b}{path}", params=params, headers=auth, timeout=10)
        assert response.status_code == 200, response.text
        return response

    # B warms the shared cache, and reads its own cached list back.
    warm = from_b()
    assert [o["name"] for o in warm.json()] == expected_names() == ["acme/chat:v1", "acme/embed", "zeta/other"]
    assert from_b().headers["ETag"] == warm.headers["ETag"]
    assert [o["name"] for o in from_b(model_type="embedding").json()] == ["acme/embed"]
    assert list(shared_redis.scan_iter("*aimodel-options*")), "process B did not cache the list in Redis"

    # A change through A's API: B shows it on its very next request.
    changed = requests.patch(
        f"{live_server.url}/api/v1/models/{chat.pk}", json={"status": "inactive"}, headers=auth, timeout=10
    )
    assert changed.status_code == 200, changed.text
    after_patch = from_b()
    assert [o["name"] for o in after_patch.json()] == expected_names() == ["acme/embed", "zeta/other"]
    assert after_patch.headers["ETag"] != warm.headers["ETag"]
    stale = requests.get(f"{process_b}{OPTIONS}", headers={**auth, "If-None-Match": warm.headers["ETag"]}, timeout=10)
    assert stale.status_code == 200

    # A bulk operation through A's API, then a filtered list from B.
    bulk = requests.post(
        f"{live_server.url}/api/v1/models/bulk",
        json={"action": "deactivate", "ids": [embed.pk]},
        headers=auth,
        timeout=10,
    )
    assert bulk.status_code == 200, bulk.text
    assert from_b(model_type="embedding").json() == []
    assert [o["name"] for o in from_b().json()] == expected_names() == ["zeta/other"]

    # A change through the service in this process (as the admin or a command would make it).
    created = aimodel_create(actor=None, name="acme/new:2", provider=provider)
    listed = from_b().json()
    assert [o["name"] for o in listed] == expected_names() == ["acme/new:2", "zeta/other"]
    assert listed[0] == {
        "id": created.pk,
        "name": "acme/new:2",
        "display_name": "",
        "provider": "acme",
        "model_type": "chat",
    }

    # And the OpenAI-compatible listing of B agrees (no cache there, but the same database).
    openai_ids = {item["id"] for item in from_b("/v1/models").json()["data"]}
    assert openai_ids == {"acme/new:2", "zeta/other"}
