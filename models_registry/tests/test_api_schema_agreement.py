"""The server refuses what its published schema refuses (issue 10, item 15).

Each case here is input the OpenAPI document says is not valid (a parameter sent empty,
a page that is not a positive whole number, a string for a boolean, a number for text, a
name with a blank or a newline around it) that the server used to accept, plus the error
answers that used to come back in a shape the schema does not describe.
"""

import json
from urllib.parse import quote

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from models_registry.models import AIModel, ModelDependency, Provider
from models_registry.tests.factories import AIModelFactory, ProviderFactory


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def chat():
    return AIModelFactory(name="gpt-4o", provider=ProviderFactory(slug="openai"))


def post(client, path, body, method="post"):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "path, parameter",
    [
        ("/api/v1/audit?until=", "until"),
        ("/api/v1/audit?since=", "since"),
        ("/api/v1/audit?action=", "action"),
        ("/api/v1/audit/security?until=", "until"),
        ("/api/v1/audit/security?event=", "event"),
        ("/api/v1/models?updated_since=", "updated_since"),
        ("/api/v1/models?min_context_window=", "min_context_window"),
        ("/api/v1/models?max_input_cost=", "max_input_cost"),
        ("/api/v1/models?has_dependencies=", "has_dependencies"),
        ("/api/v1/models?ordering=", "ordering"),
        ("/api/v1/models?provider=", "provider"),
        ("/api/v1/models?industry=openai&industry=", "industry"),
        ("/api/v1/models/options?industry=", "industry"),
    ],
)
def test_a_typed_filter_sent_empty_is_a_400_naming_it(api, path, parameter):
    """`?until=` used to be no filter at all (200), while the schema says a date-time."""
    response = api.get(path)

    assert response.status_code == 400, response.content
    assert parameter in response.json()


@pytest.mark.parametrize("path", ["/api/v1/models?name=", "/api/v1/models?search=", "/api/v1/audit?user="])
def test_a_free_text_filter_sent_empty_selects_everything(api, chat, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response.json()["count"] >= 1


@pytest.mark.parametrize("page", ["", "0", "-1", "abc", "1.5", "last", "²", " 1"])
@pytest.mark.parametrize("path", ["/api/v1/models", "/api/v1/audit", "/api/v1/providers"])
def test_a_page_that_is_not_a_positive_whole_number_is_a_400_naming_it(api, path, page):
    response = api.get(path, {"page": page})

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["page"]


def test_page_and_page_size_with_thousands_of_digits_are_answers_not_errors(api, chat):
    """Python refuses to turn over 4,300 digits into a number: that was a 500."""
    assert api.get("/api/v1/models", {"page_size": "9" * 5000}).status_code == 200
    assert api.get("/api/v1/models", {"page": "9" * 5000}).status_code == 404
    assert api.get("/api/v1/models", {"page": "01", "page_size": "0001"}).json()["results"][0]["name"] == "gpt-4o"


@pytest.mark.parametrize("value", ["xml", "", "CSV"])
def test_an_audit_format_that_is_not_json_or_csv_is_a_400(api, value):
    response = api.get("/api/v1/audit", {"format": value})

    assert response.status_code == 400
    assert list(response.json()) == ["format"]


@pytest.mark.parametrize("field, value", [("description", 0), ("display_name", 12.5), ("name", 7), ("aliases", [1])])
def test_a_number_for_a_text_field_is_a_400_not_text(api, chat, field, value):
    body = {"name": "new-model", "provider": "openai", field: value}

    response = post(api, "/api/v1/models", body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not AIModel.objects.filter(name="new-model").exists()


def test_a_number_for_a_provider_description_is_a_400(api):
    response = post(api, "/api/v1/providers", {"slug": "zero", "name": "Zero", "description": 0})

    assert response.status_code == 400
    assert list(response.json()) == ["description"]
    assert not Provider.objects.filter(slug="zero").exists()


@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes"])
def test_bulk_atomic_takes_true_or_false_only(api, chat, value):
    response = post(api, "/api/v1/models/bulk", {"action": "deactivate", "ids": [chat.pk], "atomic": value})

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["atomic"]
    chat.refresh_from_db()
    assert chat.status == "active"


def test_a_profile_enabled_flag_takes_true_or_false_only(api, chat):
    response = post(api, f"/api/v1/models/{chat.pk}", {"industries": [{"industry": "general", "enabled": 0}]}, "patch")

    assert response.status_code == 400, response.content
    assert "industries" in response.json()
    assert not chat.industry_profiles.exists()


@pytest.mark.parametrize("name", ["trail\n", " gpt-5", "gpt-5 ", "\u00a0gpt-5", "gpt-5\u0085"])
def test_a_name_or_alias_with_a_blank_or_newline_around_it_is_refused_not_trimmed(api, chat, name):
    """The schema's name pattern refuses them; the server used to trim them (or, for a
    trailing newline, let Python's "$" accept it) and store the name."""
    for body in (
        {"name": name, "provider": "openai"},
        {"name": "other-model", "provider": "openai", "aliases": [name]},
    ):
        response = post(api, "/api/v1/models", body)

        assert response.status_code == 400, (body, response.content)
    assert list(AIModel.objects.values_list("name", flat=True)) == ["gpt-4o"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/providers", {"slug": "acme\n", "name": "Acme"}),
        ("/api/v1/providers", {"slug": " acme", "name": "Acme"}),
        ("/api/v1/industries", {"slug": "acme\n", "name": "Acme"}),
    ],
)
def test_a_slug_with_a_blank_or_newline_around_it_is_refused(api, path, body):
    response = post(api, path, body)

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["slug"]


@pytest.mark.parametrize("component_type", ["agent\n", " agent"])
def test_a_dependency_type_with_a_blank_or_newline_around_it_is_refused(api, chat, component_type):
    body = {"component_type": component_type, "component_id": "bot"}

    response = post(api, f"/api/v1/models/{chat.pk}/dependencies", body)

    assert response.status_code == 400, response.content
    assert not ModelDependency.objects.exists()


def test_an_unknown_api_route_answers_404_json_to_every_method(make_user):
    """A DELETE used to meet CSRF's HTML 403 page before the JSON 404 (a token is no CSRF token)."""
    _, key = api_token_create(user=make_user("admin"))
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/models/not-a-number/dependencies/0")

        assert response.status_code == 404, (method, response.status_code)
        assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("name", ["with\nnewline", "\n", "a\nb/c"])
def test_an_openai_model_name_with_a_newline_is_a_json_404(api, name):
    """ "." in the route's pattern did not match a newline: Django's HTML 404 answered."""
    response = api.get("/v1/models/" + quote(name, safe="/"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_an_openai_route_answers_an_unacceptable_accept_header_in_openai_shape(api):
    response = api.get("/v1/models", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
