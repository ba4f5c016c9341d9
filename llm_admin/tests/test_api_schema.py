"""The published OpenAPI schema documents every status an operation can answer, with the
body it comes with, and every rule on input the server enforces (issue 10, item 15).

The statuses are derived from each view (llm_admin/api/schema.py), so these tests pin the
derivation on the real routes, and check real error answers against the documented bodies.
"""

import json
import re

import jsonschema
import pytest
from rest_framework.test import APIClient

from models_registry.models.base import TEXT_PATTERN
from models_registry.services import dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory

METHODS = ("get", "post", "put", "patch", "delete")
METRICS = "GET /metrics"


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def statuses(document, label: str) -> set[str]:
    method, path = label.split(" ", 1)
    return set(document["paths"][path][method.lower()]["responses"])


def body_schema(document, label: str, status: str) -> dict:
    method, path = label.split(" ", 1)
    response = document["paths"][path][method.lower()]["responses"][status]
    return response["content"]["application/json"]["schema"]


def as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it (a "null" type)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) is True and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def conforms(document, schema: dict, value) -> None:
    """`value` matches `schema` (references resolved in the whole document)."""
    jsonschema.Draft202012Validator(as_json_schema({**document, **schema})).validate(value)


def test_every_operation_documents_auth_throttling_database_and_content_negotiation_errors(document):
    for label, _ in operations(document):
        if label == METRICS:
            continue  # no API credentials, errors in JSON whatever is accepted: below
        assert {"401", "403", "406", "429", "503"} <= statuses(document, label), label


def test_metrics_documents_exactly_what_it_answers(document):
    """The scraper's token is not an API token (no 401, no failed-token 429), and a refusal is
    JSON whatever the Accept header says (no 406)."""
    assert statuses(document, METRICS) == {"200", "403", "503"}
    ok = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(ok) == {"text/plain", "application/openmetrics-text"}
    assert body_schema(document, METRICS, "403") == {"$ref": "#/components/schemas/Error"}


def test_only_operations_that_take_a_body_document_411_413_and_415(document):
    for label, operation in operations(document):
        has_body = "requestBody" in operation
        assert ({"411", "413", "415"} <= statuses(document, label)) == has_body, label
        assert not ({"411", "413", "415"} & statuses(document, label)) or has_body, label


def test_400_is_documented_exactly_where_there_is_input(document):
    for label, operation in operations(document):
        takes_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
        assert ("400" in statuses(document, label)) == takes_input, label
    assert "400" not in statuses(document, "GET /api/v1/providers/{id}")
    assert "400" in statuses(document, "GET /api/v1/models/{id}")  # its `as_of`
    assert "400" in statuses(document, "GET /api/v1/models")


def test_412_only_where_if_match_is_honoured(document):
    with_412 = {label for label, _ in operations(document) if "412" in statuses(document, label)}

    assert with_412 == {"PUT /api/v1/models/{id}", "PATCH /api/v1/models/{id}"}


def test_409_on_deleting_what_others_depend_on_cancelling_what_is_done_moving_and_reverting_only(document):
    with_409 = {label for label, _ in operations(document) if "409" in statuses(document, label)}

    assert with_409 == {
        "DELETE /api/v1/models/{id}",
        "DELETE /api/v1/providers/{id}",
        "DELETE /api/v1/industries/{id}",
        "DELETE /api/v1/scheduled-changes/{id}",
        "POST /api/v1/models/{id}/move-dependents",  # its own: the target is not active
        "POST /api/v1/audit/{id}/revert",
        "POST /api/v1/audit/requests/{request_id}/revert",
    }
    in_use = {"$ref": "#/components/schemas/InUseConflict"}
    assert body_schema(document, "DELETE /api/v1/providers/{id}", "409") == in_use
    refused = {"$ref": "#/components/schemas/RevertConflict"}
    assert body_schema(document, "POST /api/v1/audit/{id}/revert", "409") == refused


def test_404_where_an_object_is_named_or_a_page_can_be_past_the_last(document):
    for label, _ in operations(document):
        named = "{" in label
        paginated = label in {
            "GET /api/v1/models",
            "GET /api/v1/providers",
            "GET /api/v1/industries",
            "GET /api/v1/audit",
            "GET /api/v1/audit/security",
            "GET /api/v1/webhooks",
            "GET /api/v1/scheduled-changes",
        }
        assert ("404" in statuses(document, label)) == (named or paginated), label


def test_openai_routes_document_their_errors_in_openai_shape_and_retry_after_on_429_and_503(document):
    assert {"401", "404"} <= statuses(document, "GET /v1/models/{name}")
    for label, operation in operations(document):
        for status, response in operation["responses"].items():
            if status < "400":
                continue
            schema = response["content"]["application/json"]["schema"]
            if label.split(" ", 1)[1].startswith("/v1/"):
                assert schema == {"$ref": "#/components/schemas/OpenAIError"}, (label, status)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], (label, status)


def test_paging_and_filter_parameters_state_their_rules(document):
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/models"]["get"]["parameters"]}
    audit = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    options = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/models/options"]["get"]["parameters"]}

    assert parameters["page"] == {"type": "integer", "minimum": 1}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1}
    assert parameters["updated_since"]["format"] == "date-time"
    assert audit["until"]["format"] == audit["since"]["format"] == "date-time"
    assert set(audit["format"]["enum"]) == {"json", "csv"}
    assert parameters["provider"]["items"]["pattern"] == "^[a-z0-9][a-z0-9_.-]*$"
    assert "-updated_at" in parameters["ordering"]["items"]["enum"]
    assert "chat" in options["model_type"]["items"]["enum"]
    assert "vision" in options["capability"]["items"]["enum"]
    assert options["industry"]["items"]["pattern"] == "^[a-z0-9][a-z0-9_.-]*$"


def test_request_bodies_state_the_name_slug_and_text_rules(document):
    schemas = document["components"]["schemas"]
    model, provider = schemas["AIModelRequest"]["properties"], schemas["ProviderRequest"]["properties"]

    name_pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
    assert model["name"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": name_pattern}
    assert model["aliases"]["items"]["pattern"] == name_pattern
    assert model["successor"]["pattern"] == name_pattern
    assert model["provider"]["pattern"] == "^[a-z0-9][a-z0-9_.-]*$"
    assert model["description"]["pattern"] == model["display_name"]["pattern"] == TEXT_PATTERN
    assert provider["slug"]["pattern"] == "^[a-z0-9][a-z0-9_.-]*$"
    assert provider["name"]["pattern"] == TEXT_PATTERN
    assert schemas["DependencyRequest"]["properties"]["component_name"]["pattern"] == TEXT_PATTERN
    assert schemas["BulkRequestRequest"]["properties"]["ids"]["maxItems"] == 1000
    assert (model["context_window"]["minimum"], model["context_window"]["maximum"]) == (1, 100_000_000)
    assert (model["max_output_tokens"]["minimum"], model["max_output_tokens"]["maximum"]) == (0, 100_000_000)
    cost = re.compile(model["input_cost_per_million_tokens"]["pattern"])
    assert [bool(cost.match(value)) for value in ("0.0046875", "999999.9999999999", "-1", "", "1000000")] == [
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.django_db
def test_real_error_answers_match_their_documented_bodies(document, api):
    """A nested 400, a 404, a 409 naming what uses a provider, a 412, and OpenAI's 401 and 404."""
    acme = ProviderFactory(slug="acme")
    model = AIModelFactory(name="acme/chat:1", provider=acme)
    dependency_register(model=model, actor=None, component_type="agent", component_id="bot", component_name="Bot")
    bad = {"name": "x", "provider": "acme", "industries": [{"industry": "general"}, {"industry": "nope"}]}
    answers = {
        ("POST /api/v1/models", "400"): api.post("/api/v1/models", json.dumps(bad), content_type="application/json"),
        ("GET /api/v1/models", "400"): api.get("/api/v1/models", {"page": "0"}),
        ("GET /api/v1/models/{id}", "404"): api.get("/api/v1/models/999999"),
        ("DELETE /api/v1/providers/{id}", "409"): api.delete(f"/api/v1/providers/{acme.pk}"),
        ("DELETE /api/v1/models/{id}", "409"): api.delete(f"/api/v1/models/{model.pk}"),
        ("PATCH /api/v1/models/{id}", "412"): api.patch(
            f"/api/v1/models/{model.pk}", "{}", content_type="application/json", HTTP_IF_MATCH='"0"'
        ),
        ("GET /v1/models", "401"): APIClient().get("/v1/models"),
        ("GET /v1/models/{name}", "404"): api.get("/v1/models/no-such-model"),
        ("GET /api/v1/models", "401"): APIClient().get("/api/v1/models"),
    }
    for (label, status), response in answers.items():
        assert str(response.status_code) == status, (label, response.content)
        assert status in statuses(document, label), label

        conforms(document, body_schema(document, label, status), response.json())
    nested = {"1": {"industry": ["Object with slug=nope does not exist."]}}
    assert answers[("POST /api/v1/models", "400")].json()["industries"] == nested


def test_304_where_if_none_match_is_honoured(document):
    with_304 = {label for label, _ in operations(document) if "304" in statuses(document, label)}

    assert with_304 == {"GET /api/v1/models/{id}", "GET /api/v1/models/options"}
