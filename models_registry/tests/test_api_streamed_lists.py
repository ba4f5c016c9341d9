"""Lists that grow with the catalog are streamed (docs/contract.md §7 "Scale"): `GET /v1/models`
and the whole selection list are one JSON body, written a chunk of rows at a time from a
server-side cursor, so a process holds one chunk however large the catalog is.

Chunks are made small here (`streaming.CHUNK_ROWS`) so that a few thousand models make many
of them; the memory a stream needs is one chunk's, which the production size (1,000 rows)
keeps near 1.5 MB.
"""

import tracemalloc

import openai
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import api_token_create
from llm_admin.api import streaming
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.streamed import body, body_json, connection_kept, wsgi_get

OPENAI_MODELS = "/v1/models"


@pytest.fixture
def viewer_key(make_user):
    return api_token_create(user=make_user("viewer"))[1]


@pytest.fixture
def viewer(viewer_key):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {viewer_key}")
    return client


def many_models(count: int) -> None:
    """`count` active models with names and display names of a realistic length."""
    provider = ProviderFactory(slug="acme-cloud")
    AIModel.objects.bulk_create(
        AIModel(name=f"acme/chat-model-{n:06d}:2026-01", display_name=f"Acme Chat {n}", provider=provider)
        for n in range(count)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, 1, 2, 3, 5])
def test_v1_models_is_one_json_body_however_the_chunks_fall(viewer, monkeypatch, count):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)
    provider = ProviderFactory(slug="acme")
    for n in range(count):
        AIModelFactory(name=f"m-{n}", provider=provider, status="deprecated" if n % 2 else "active")
    AIModelFactory(name="hidden", provider=provider, status="inactive")

    response = viewer.get(OPENAI_MODELS)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert body_json(response) == {
        "object": "list",
        "data": [
            {"id": model.name, "object": "model", "created": int(model.created_at.timestamp()), "owned_by": "acme"}
            for model in AIModel.objects.exclude(status="inactive").order_by("name")
        ],
    }


@pytest.mark.django_db(transaction=True)
def test_the_openai_sdk_lists_a_streamed_catalog_of_many_chunks(live_server, viewer_key, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)  # the live server is a thread of this process
    provider = ProviderFactory(slug="acme")
    for n in range(7):
        AIModelFactory(name=f"acme/m-{n}:v1", provider=provider)

    client = openai.OpenAI(api_key=viewer_key, base_url=live_server.url + "/v1", max_retries=0, timeout=20)
    listed = client.models.list()

    assert [model.id for model in listed.data] == [f"acme/m-{n}:v1" for n in range(7)]
    assert {model.owned_by for model in listed.data} == {"acme"}


def peak_while_streaming(client, url: str) -> tuple[int, int]:
    """(the body's size, the peak of memory Python allocated from the request to the last
    byte read), after one request to warm what a first request builds once."""
    body(client.get(url))
    tracemalloc.start()
    try:
        response = client.get(url)
        assert response.streaming
        size = sum(len(chunk) for chunk in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, peak


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/models/options", OPENAI_MODELS])
def test_a_streamed_list_needs_far_less_memory_than_its_body(viewer, monkeypatch, url):
    """Built in memory, the body alone would be the peak, and the rows it was made of several
    times that."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 100)
    many_models(6000)

    size, peak = peak_while_streaming(viewer, url)

    assert size > 450_000
    assert peak < size / 3, f"peak {peak:,} bytes for a body of {size:,}"


def open_server_side_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/models/options", OPENAI_MODELS])
def test_a_stream_closed_unread_closes_its_cursor_at_once(viewer_key, monkeypatch, url):
    """A client gone before the body starts: the server closes the response, and the cursor
    must close then, on the connection it is open on, not whenever the objects are freed
    (by then the connection may serve another request)."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)
    many_models(5)
    with connection_kept():
        status, response = wsgi_get(WSGIHandler(), url, viewer_key)
        opened = open_server_side_cursors()
        response.close()

        assert (status, opened, open_server_side_cursors()) == ("200 OK", 1, 0)


def open_cursors_holdable() -> list[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/api/v1/models/options", OPENAI_MODELS])
@pytest.mark.parametrize("read", [True, False], ids=["read-whole", "closed-unread"])
def test_a_request_streams_from_a_cursor_without_hold_and_leaves_autocommit_as_it_was(
    viewer_key, monkeypatch, url, read
):
    """In a request (autocommit, no transaction) Django declares a server-side cursor WITH
    HOLD, and PostgreSQL then runs the whole query before answering the first row (seconds for
    a million models, issue 12). The stream reads inside its own transaction instead, and the
    connection is back in autocommit once the response is closed, read or not."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)
    many_models(5)
    with connection_kept():
        status, response = wsgi_get(WSGIHandler(), url, viewer_key)
        holdable = open_cursors_holdable()
        with connection.cursor() as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            idle_limit = cursor.fetchone()[0]
        content = b"".join(response) if read else b""
        response.close()

        assert (status, holdable, idle_limit) == ("200 OK", [False], "1min")
        assert connection.get_autocommit()
        assert not connection.in_atomic_block
        assert open_server_side_cursors() == 0
    if read:
        assert content.count(b"acme/chat-model-") == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_list_shorter_than_a_chunk_leaves_nothing_open(viewer_key):
    many_models(3)
    with connection_kept():
        status, response = wsgi_get(WSGIHandler(), OPENAI_MODELS, viewer_key)
        assert (status, open_server_side_cursors(), connection.get_autocommit()) == ("200 OK", 0, True)
        response.close()
