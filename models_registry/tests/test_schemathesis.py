"""The published OpenAPI document, fuzzed by Schemathesis in-process (WSGI).

Every operation of `GET /api/v1/schema` is called with generated input, valid and
invalid, as a superuser with an API token: no input produces a 5xx (API.md §3) and every
answer with a documented status code matches its documented schema.
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts.services import api_token_create
from models_registry.choices import ModelStatus
from models_registry.services import dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory

not_a_server_error = schemathesis.checks.not_a_server_error
# Few examples per operation, in both modes (valid and invalid input), reproducibly.
FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


@pytest.fixture
def in_process_requests():
    """Requests served in this thread must leave the test's database connection (and its
    open transaction) alone, as Django's own test client arranges: a real WSGI server
    closes old connections around each request, which would end the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def seeded(db, django_user_model, in_process_requests):
    """Providers, models (names with "/" and ":"), a dependency, and a superuser's token."""
    cache.clear()  # option lists cached by an earlier run against another test database
    openai_provider, acme = ProviderFactory(slug="openai"), ProviderFactory(slug="acme.eu")
    chat = AIModelFactory(name="gpt-4o", provider=openai_provider, aliases=["gpt-4o-latest"], capabilities=["vision"])
    AIModelFactory(name="acme/embed:v1", provider=acme, model_type="embedding")
    AIModelFactory(name="old-model", provider=acme, status=ModelStatus.DEPRECATED)
    dependency = dependency_register(
        model=chat, actor=None, component_type="agent", component_id="support-bot", component_name="Support bot"
    )[0]
    superuser = django_user_model.objects.create_superuser("fuzzer", password="fuzzing-only-password")
    _, key = api_token_create(user=superuser)
    return {
        "headers": {"Authorization": f"Bearer {key}"},
        "ids": {
            "id": [str(pk) for pk in (chat.pk, chat.provider_id, acme.pk)],
            "dependency_id": [str(dependency.pk)],
            "name": ["gpt-4o", "gpt-4o-latest", "acme/embed:v1", "old-model"],
        },
    }


# The document the running application publishes (fetching it needs no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema", WSGIHandler())


def aim_at_existing_rows(case, data, seeded) -> None:
    """Half the time, point path parameters and references in the body at rows that
    exist, so that the happy paths (201, 200, 204, 409) run too, not only 400 and 404."""
    for name, values in seeded["ids"].items():
        if name in (case.path_parameters or {}) and data.draw(st.booleans(), label=f"existing {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(values), label=name)
    body = case.body if isinstance(case.body, dict) else {}
    references = {"provider": ["openai", "acme.eu"], "successor": [None, "old-model"], "industries": [[]]}
    for name, values in references.items():
        if name in body and data.draw(st.booleans(), label=f"existing {name}"):
            body[name] = data.draw(st.sampled_from(values), label=name)


@schema.parametrize()
@schema.given(data=st.data())
@FUZZ
def test_no_input_gives_a_server_error_or_an_answer_outside_the_schema(case, data, seeded):
    aim_at_existing_rows(case, data, seeded)

    case.call_and_validate(headers=seeded["headers"], checks=[not_a_server_error, response_schema_conformance])


@schema.parametrize()
@schema.given(data=st.data())
@FUZZ
def test_every_answer_has_a_documented_content_type(case, data, seeded):
    aim_at_existing_rows(case, data, seeded)

    case.call_and_validate(headers=seeded["headers"], checks=[content_type_conformance])


@pytest.mark.parametrize("path", sorted(schema.raw_schema["paths"]))
def test_http_options_on_any_documented_path_answers_metadata_not_a_500(path, seeded, client):
    """API.md §3: no input, however odd, produces a 500. HTTP OPTIONS is input too, and DRF
    answers it with the view's metadata."""
    url = path
    for name, values in seeded["ids"].items():
        url = url.replace(f"{{{name}}}", values[0])

    client.raise_request_exception = False
    response = client.options(url, headers=seeded["headers"])

    assert response.status_code < 500, (url, response.status_code)
    assert response.status_code in (200, 204, 405), (url, response.status_code)
    if response.status_code == 200:
        # DRF's metadata ({"name", "renders", "parses", ...}), not some endpoint's data.
        assert isinstance(response.json(), dict) and "renders" in response.json(), (url, response.content[:200])


# Found by the fuzzer on PostgreSQL, pinned here so that they run on every backend: Python
# accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59.
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models?updated_since=2024-01-01T00:00:00%2B18:30",
        "/api/v1/models?updated_since=1132-11-25T01:40:55.709439-20:11",
        "/api/v1/audit?since=2024-01-01T00:00:00-20:00",
        "/api/v1/audit?until=1358-02-05T19:53:00.51%2B18:03",
        "/api/v1/audit/security?since=2024-01-01T00:00:00-20:00",
        "/api/v1/audit/security?until=2024-01-01T00:00:00%2B23:59",
    ],
)
def test_a_date_filter_with_any_offset_python_accepts_is_not_a_server_error(url, seeded, client):
    client.raise_request_exception = False
    response = client.get(url, headers=seeded["headers"])

    assert response.status_code in (200, 400), (url, response.status_code)
