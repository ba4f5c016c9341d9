"""What a client sent comes back in error messages ('"x" is not a valid choice'), whatever
it is: a lone surrogate, a NUL, an integer beyond 64 bits. And a PATCH validates industry
profiles exactly as a POST does. (Issue 10, item 3: no input reaches a 500.)"""

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.models import AuditEntry
from models_registry.models import AIModel, ModelIndustryProfile
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db

LONE_SURROGATE = "\ud800"


@pytest.fixture
def client(make_user):
    _, key = api_token_create(user=make_user("admin"))
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def target():
    return AIModelFactory(name="target", provider=ProviderFactory(slug="openai"), industries=[profile("finance")])


def send(client, method: str, path: str, body) -> tuple[int, dict]:
    # json.dumps writes a lone surrogate as the escape "\ud800", which is how a client sends one.
    response = getattr(client, method)(path, data=json.dumps(body), content_type="application/json")
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.status_code, json.loads(response.content)


VALID = {"name": "x1", "provider": "openai"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/models", {**VALID, "status": LONE_SURROGATE}, "status"),
        ("post", "/api/v1/models", {**VALID, "model_type": LONE_SURROGATE}, "model_type"),
        ("post", "/api/v1/models", {**VALID, "capabilities": ["vision", LONE_SURROGATE]}, "capabilities"),
        ("post", "/api/v1/models", {**VALID, "provider": LONE_SURROGATE}, "provider"),
        ("post", "/api/v1/models", {**VALID, "provider": "a" + LONE_SURROGATE}, "provider"),
        ("post", "/api/v1/models", {**VALID, "successor": "a" + LONE_SURROGATE}, "successor"),
        ("post", "/api/v1/models", {**VALID, "industries": [{"industry": LONE_SURROGATE}]}, "industries"),
        ("put", "/api/v1/models/{id}", {**VALID, "status": "\udfff"}, "status"),
        ("patch", "/api/v1/models/{id}", {"model_type": "chat" + LONE_SURROGATE}, "model_type"),
        ("post", "/api/v1/models/bulk", {"action": LONE_SURROGATE, "ids": [1]}, "action"),
        ("post", "/api/v1/models/bulk", {"action": "activate", "ids": [LONE_SURROGATE]}, "ids"),
        ("post", "/api/v1/models/{id}/dependencies", {"component_type": LONE_SURROGATE}, "component_type"),
        ("post", "/api/v1/providers", {"slug": LONE_SURROGATE, "name": "x"}, "slug"),
    ],
)
def test_a_lone_surrogate_is_echoed_back_in_a_field_error_not_a_500(client, target, method, path, body, field):
    status, errors = send(client, method, path.replace("{id}", str(target.pk)), body)

    assert status == 400
    assert field in errors
    assert not AIModel.objects.exclude(pk=target.pk).exists()


def test_the_echoed_surrogate_is_written_out_as_readable_text(client, target):
    status, errors = send(client, "post", "/api/v1/models", {**VALID, "status": "on" + LONE_SURROGATE})

    assert status == 400
    assert errors == {"status": ['"on\\ud800" is not a valid choice.']}


def test_a_lone_surrogate_in_a_query_string_value_is_never_a_500(client, target):
    # Django decodes query strings with replacement characters; a surrogate's UTF-8 bytes
    # are not valid UTF-8, so they arrive as U+FFFD and select nothing.
    response = client.get("/api/v1/models?status=%ED%A0%80&search=%ED%A0%80")

    assert response.status_code == 400
    assert set(response.json()) == {"status"}


@pytest.mark.parametrize(
    "industries",
    [[{}], [{"enabled": True}], [{"settings": {}}], [{"industry": "finance"}, {"enabled": False}]],
    ids=["empty", "enabled only", "settings only", "second incomplete"],
)
def test_a_patch_with_an_incomplete_profile_is_a_400_as_in_a_post(client, target, industries):
    before = AuditEntry.objects.count()

    patch_status, patch_errors = send(client, "patch", f"/api/v1/models/{target.pk}", {"industries": industries})
    post_status, post_errors = send(client, "post", "/api/v1/models", {**VALID, "industries": industries})

    assert (patch_status, post_status) == (400, 400)
    assert patch_errors == post_errors
    assert "industry" in json.dumps(patch_errors["industries"])
    assert list(ModelIndustryProfile.objects.filter(model=target).values_list("industry__slug", "enabled")) == [
        ("finance", True)
    ]
    assert AuditEntry.objects.count() == before


def test_a_patch_of_a_profile_takes_its_defaults_as_a_post_does(client, target):
    status, body = send(client, "patch", f"/api/v1/models/{target.pk}", {"industries": [{"industry": "legal"}]})

    assert status == 200
    assert body["industries"] == [{"industry": "legal", "enabled": True, "settings": {}}]
    assert list(ModelIndustryProfile.objects.filter(model=target).values_list("industry__slug", "enabled")) == [
        ("legal", True)
    ]
