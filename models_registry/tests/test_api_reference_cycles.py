"""No request or response outlives its request through a reference cycle (issue 12 item 2).

An object in a reference cycle is freed only by the cycle collector, and a large one (a list
rendered whole) survives the young generations' passes into the oldest, which is collected
rarely: at 850,000 models each request to the selection list left 530 MB behind until then.
Requests go through Django's WSGI handler, as gunicorn calls it (the test client adds cycles
of its own), with the collector saving everything it would free in `gc.garbage`.
"""

import gc
from collections import deque

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request

from accounts.services import api_token_create
from llm_admin.api import streaming
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.streamed import connection_kept, wsgi_get

pytestmark = pytest.mark.django_db

REQUESTS = [
    "/api/v1/models",
    "/api/v1/models?ordering=-context_window&page_size=2",
    "/api/v1/models?cursor=&page_size=2",
    "/api/v1/models?search=chat&cursor=",
    "/api/v1/models?page=0",  # a 400
    "/api/v1/models/options?model_type=chat",  # small: cached, one body
    "/api/v1/models/options?limit=2&search=chat",
    "/api/v1/models/options",  # large: streamed
    "/v1/models",  # streamed
    "/v1/models/chat-1",
    "/healthz",
    "/api/v1/models/{chat}",
    "/api/v1/models/{chat}/dependencies",
    "/api/v1/models/{chat}/history",
    "/api/v1/models/999999",  # a 404
    "/api/v1/providers",
    "/api/v1/industries",
    "/api/v1/changes?limit=2",
    "/api/v1/scheduled-changes",  # a 403 for a viewer
    "/api/v1/audit",  # a 403 for a viewer
    "/api/v1/webhooks",  # a 403 for a viewer
    "/api/v1/schema",
    "/api/v1/nothing-here",  # a 404 of no route
]


def serve(handler: WSGIHandler, url: str, token: str) -> str:
    """One request as a WSGI server makes it: the body read to its end, then closed."""
    status, result = wsgi_get(handler, url, token)
    try:
        b"".join(result)
    finally:
        result.close()
    return status


def cycle_through(target, garbage: list) -> str:
    """How `target` is kept: the chain of garbage objects back to the cycle that holds it."""
    inside = {id(item) for item in garbage}
    parents = {id(target): None}
    queue = deque([target])
    while queue:  # breadth first, over what refers to what, among the garbage only
        current = queue.popleft()
        for referrer in gc.get_referrers(current):
            if id(referrer) in inside and id(referrer) not in parents:
                parents[id(referrer)] = current
                queue.append(referrer)
    holders = [item for item in garbage if id(item) in parents and item is not target]
    return " <- ".join(type(item).__name__ for item in [target, *holders[:8]])


@pytest.fixture
def catalog():
    provider = ProviderFactory(slug="acme")
    AIModelFactory(name="chat-1", provider=provider, context_window=8192)
    AIModelFactory(name="chat-2", provider=provider, context_window=None)
    for number in range(4):
        AIModelFactory(name=f"embed-{number}", provider=provider, model_type="embedding")
    return {"chat": AIModel.objects.get(name="chat-1").pk}


def test_no_request_or_response_is_left_in_a_reference_cycle(catalog, make_user, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 3)  # so that the lists of four models and more stream
    _, token = api_token_create(user=make_user("viewer"))
    handler = WSGIHandler()
    urls = [url.format(**catalog) for url in REQUESTS]
    with connection_kept():
        warm = [serve(handler, url, token) for url in urls]  # imports, caches, first-use writes
        # Twice: generating the schema (once per process, llm_admin.api.schema_view) leaves its
        # views referenced from DRF's schema descriptors (a view class's AutoSchema keeps the
        # last view read through it), which let go of them only as the next requests come.
        warm = [serve(handler, url, token) for url in urls]
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            answered = [serve(handler, url, token) for url in urls]
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    kept = [item for item in garbage if isinstance(item, HttpRequest | HttpResponseBase | Request)]
    assert answered == warm
    assert [status[:3] for status in answered] == (
        ["200"] * 4 + ["400"] + ["200"] * 9 + ["404"] + ["200"] * 3 + ["403"] * 3 + ["200", "404"]
    )
    assert kept == [], "\n".join(cycle_through(item, garbage) for item in kept)
