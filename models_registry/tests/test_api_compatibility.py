"""Property 18: API Compatibility Preservation.

Clients written against the API keep working: the OpenAPI document may grow but nothing
a client relies on disappears, is renamed or narrowed. The live schema is compared with
two documents:

- `docs/openapi-v1.yaml`, v1 as published: frozen, never regenerated in place (its bytes
  are pinned below). A change that breaks it needs `/api/v2/`, not an edit of this file.
- `docs/openapi.yaml`, the regenerated snapshot of today's schema. After an addition,
  regenerate it on purpose:

    DJANGO_SETTINGS_MODULE=llm_admin.test_settings .venv/bin/python manage.py spectacular \\
        --file docs/openapi.yaml --validate

The schema also builds without warnings, and the `openai` Python package reads `/v1/models`.
"""

import datetime
import hashlib
import os
import subprocess
import sys
from email.utils import format_datetime
from pathlib import Path

import openai
import pytest
import requests
import yaml
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from accounts.services import api_token_create
from models_registry.choices import ModelStatus
from models_registry.models import AIModel
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory

SNAPSHOT = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
FROZEN_V1 = Path(settings.BASE_DIR) / "docs" / "openapi-v1.yaml"
# The published v1 document's bytes. This changes only if someone edits the frozen file,
# which is the mistake this pins: a breaking change goes to /api/v2/ instead.
FROZEN_V1_SHA256 = "6de00b9debd3e91bbc68509c9ecaafb6a861f8ce2a007682231fbc9a8edfb73a"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# --- the comparison ----------------------------------------------------------------------


def _resolve(document: dict, schema: dict, seen: frozenset = frozenset()) -> dict:
    """`schema` with `$ref`s followed and `allOf` parts merged into one plain schema."""
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:  # a recursive schema: stop here
            return {}
        seen = seen | {ref}
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
    if not isinstance(schema, dict) or "allOf" not in schema:
        return schema if isinstance(schema, dict) else {}
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        part = _resolve(document, part, seen)
        merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
        merged["required"] = sorted(set(part.get("required", [])) | set(merged.get("required", [])))
        for key in ("type", "enum", "items", "format"):
            if key in part and key not in merged:
                merged[key] = part[key]
    if not merged.get("properties"):
        merged.pop("properties", None)
    if not merged.get("required"):
        merged.pop("required", None)
    return merged


def _narrowed(old: dict, new: dict, where: str) -> list[str]:
    """What a request schema refuses now that it accepted before: a lower upper bound, a
    higher lower bound, null no longer allowed."""
    problems = []
    for bound in ("maxLength", "maximum", "maxItems"):
        if bound in new and (bound not in old or new[bound] < old[bound]):
            problems.append(f"{where}: {bound} narrowed from {old.get(bound)!r} to {new[bound]!r}")
    for bound in ("minLength", "minimum", "minItems"):
        if bound in new and (bound not in old or new[bound] > old[bound]):
            problems.append(f"{where}: {bound} narrowed from {old.get(bound)!r} to {new[bound]!r}")
    if old.get("nullable") and not new.get("nullable"):
        problems.append(f"{where}: no longer accepts null")
    return problems


def _widened(old: dict, new: dict, where: str) -> list[str]:
    """What a response may now carry that a client of `old` does not expect: null."""
    if new.get("nullable") and not old.get("nullable"):
        return [f"{where}: may now be null"]
    return []


def _compare_schemas(old_doc, old, new_doc, new, where: str, *, request: bool, depth: int = 0) -> list[str]:
    """What in `old` a client may rely on that `new` lost or changed (one schema, recursively)."""
    old, new = _resolve(old_doc, old), _resolve(new_doc, new)
    if depth > 20:
        return []
    problems = []
    if "type" in old and old["type"] != new.get("type"):
        problems.append(f"{where}: type changed from {old['type']!r} to {new.get('type')!r}")
        return problems
    if "enum" in old and "enum" in new:
        removed = [value for value in old["enum"] if value not in new["enum"]]
        if removed:
            problems.append(f"{where}: enum values removed: {removed}")
    # (An integer's format is the storage range, which depends on the database: drf-spectacular
    # writes int64 for SQLite's integers and none for PostgreSQL's; the bounds are compared.)
    if "format" in old and old["format"] != new.get("format") and old.get("type") != "integer":
        problems.append(f"{where}: format changed from {old['format']!r} to {new.get('format')!r}")
    problems += _narrowed(old, new, where) if request else _widened(old, new, where)
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    for name, old_property in old_properties.items():
        if name not in new_properties:
            problems.append(f"{where}: property {name!r} removed")
        else:
            problems += _compare_schemas(
                old_doc,
                old_property,
                new_doc,
                new_properties[name],
                f"{where}.{name}",
                request=request,
                depth=depth + 1,
            )
    if request:
        newly_required = sorted(set(new.get("required", [])) - set(old.get("required", [])))
        if newly_required:
            problems.append(f"{where}: newly required properties: {newly_required}")
    if "items" in old and "items" in new:
        problems += _compare_schemas(
            old_doc, old["items"], new_doc, new["items"], f"{where}[]", request=request, depth=depth + 1
        )
    if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
        problems += _compare_schemas(
            old_doc,
            old["additionalProperties"],
            new_doc,
            new["additionalProperties"],
            f"{where}{{}}",
            request=request,
            depth=depth + 1,
        )
    return problems


def _parameters(document: dict, path_item: dict, operation: dict) -> dict[tuple[str, str], dict]:
    """{(in, name): parameter} for an operation, path-level parameters included."""
    found = {}
    for parameter in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = _resolve(document, parameter)
        found[(parameter["in"], parameter["name"])] = parameter
    return found


def _compare_operations(old_doc, old_item, old_op, new_doc, new_item, new_op, label: str) -> list[str]:
    problems = []
    old_parameters = _parameters(old_doc, old_item, old_op)
    new_parameters = _parameters(new_doc, new_item, new_op)
    for key, old_parameter in old_parameters.items():
        where = f"{label} parameter {key[1]!r} ({key[0]})"
        new_parameter = new_parameters.get(key)
        if new_parameter is None:
            problems.append(f"{where} removed")
            continue
        if new_parameter.get("required") and not old_parameter.get("required"):
            problems.append(f"{where} became required")
        problems += _compare_schemas(
            old_doc, old_parameter.get("schema", {}), new_doc, new_parameter.get("schema", {}), where, request=True
        )
    for key, new_parameter in new_parameters.items():
        if key not in old_parameters and new_parameter.get("required"):
            problems.append(f"{label} parameter {key[1]!r} ({key[0]}) added as required")

    old_body = _resolve(old_doc, old_op.get("requestBody", {}))
    new_body = _resolve(new_doc, new_op.get("requestBody", {}))
    if new_body.get("required") and not old_body.get("required"):
        problems.append(f"{label} request body became required")
    for media_type, old_content in old_body.get("content", {}).items():
        new_content = new_body.get("content", {}).get(media_type)
        if new_content is None:
            problems.append(f"{label} request body {media_type} no longer accepted")
            continue
        problems += _compare_schemas(
            old_doc,
            old_content.get("schema", {}),
            new_doc,
            new_content.get("schema", {}),
            f"{label} request {media_type}",
            request=True,
        )

    new_responses = new_op.get("responses", {})
    for status_code, old_response in old_op.get("responses", {}).items():
        new_response = new_responses.get(status_code)
        if new_response is None:
            problems.append(f"{label} response {status_code} removed")
            continue
        old_response, new_response = _resolve(old_doc, old_response), _resolve(new_doc, new_response)
        for media_type, old_content in old_response.get("content", {}).items():
            new_content = new_response.get("content", {}).get(media_type)
            if new_content is None:
                problems.append(f"{label} response {status_code} {media_type} removed")
                continue
            problems += _compare_schemas(
                old_doc,
                old_content.get("schema", {}),
                new_doc,
                new_content.get("schema", {}),
                f"{label} response {status_code}",
                request=False,
            )
    return problems


def breaking_changes(old: dict, new: dict) -> list[str]:
    """Every way in which `new` (an OpenAPI 3 document) breaks a client written against `old`.

    Removed or renamed: paths, methods, response status codes, response and request
    properties (or their types), enum values, parameters. Newly required: parameters,
    request properties, request bodies. Anything added that a client may ignore is fine.
    """
    problems = []
    new_paths = new.get("paths", {})
    for path, old_item in old.get("paths", {}).items():
        new_item = new_paths.get(path)
        for method in HTTP_METHODS:
            if method not in old_item:
                continue
            label = f"{method.upper()} {path}"
            if new_item is None or method not in new_item:
                problems.append(f"{label} removed")
                continue
            problems += _compare_operations(old, old_item, old_item[method], new, new_item, new_item[method], label)
    return problems


def current_schema() -> dict:
    """The schema as the code describes it now, as plain YAML data (what the command writes)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return yaml.safe_load(OpenApiYamlRenderer().render(schema, renderer_context={}))


# --- the comparison, on tiny hand-made schemas -------------------------------------------


def tiny_schema(
    *,
    paths=("/things",),
    response_properties=("id", "name"),
    request_required=("name",),
    status_enum=("on", "off"),
    query_required=False,
    name_type="string",
) -> dict:
    thing = {
        "type": "object",
        "properties": {
            **{name: {"type": "integer" if name == "id" else name_type} for name in response_properties},
            "status": {"$ref": "#/components/schemas/StatusEnum"},
        },
    }
    request = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "note": {"type": "string"}},
        "required": list(request_required),
    }
    operations = {
        "get": {
            "parameters": [{"in": "query", "name": "q", "required": query_required, "schema": {"type": "string"}}],
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
        },
        "post": {
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingRequest"}}}},
            "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
        },
    }
    return {
        "openapi": "3.0.3",
        "paths": {path: operations for path in paths},
        "components": {
            "schemas": {
                "Thing": thing,
                "ThingRequest": request,
                "StatusEnum": {"type": "string", "enum": list(status_enum)},
            }
        },
    }


def test_an_identical_schema_breaks_nothing():
    assert breaking_changes(tiny_schema(), tiny_schema()) == []


def test_an_added_path_breaks_nothing():
    assert breaking_changes(tiny_schema(), tiny_schema(paths=("/things", "/others"))) == []


def test_an_added_response_property_or_enum_value_breaks_nothing():
    grown = tiny_schema(response_properties=("id", "name", "extra"), status_enum=("on", "off", "maybe"))
    assert breaking_changes(tiny_schema(), grown) == []


def test_a_removed_path_breaks_clients():
    assert breaking_changes(tiny_schema(paths=("/things", "/others")), tiny_schema()) == [
        "GET /others removed",
        "POST /others removed",
    ]


def test_a_removed_response_property_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(response_properties=("id",)))
    assert problems == [
        "GET /things response 200: property 'name' removed",
        "POST /things response 201: property 'name' removed",
    ]


def test_a_renamed_response_property_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(response_properties=("id", "title")))
    assert "GET /things response 200: property 'name' removed" in problems


def test_a_changed_property_type_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(name_type="integer"))
    assert "GET /things response 200.name: type changed from 'string' to 'integer'" in problems


def test_a_new_required_request_field_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(request_required=("name", "note")))
    assert problems == ["POST /things request application/json: newly required properties: ['note']"]


def test_a_removed_enum_value_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(status_enum=("on",)))
    assert "GET /things response 200.status: enum values removed: ['off']" in problems


def test_a_parameter_that_became_required_breaks_clients():
    problems = breaking_changes(tiny_schema(), tiny_schema(query_required=True))
    assert problems == ["GET /things parameter 'q' (query) became required"]


def narrowed_name(**constraints) -> dict:
    schema = tiny_schema()
    schema["components"]["schemas"]["ThingRequest"]["properties"]["name"].update(constraints)
    return schema


def test_a_narrowed_request_field_breaks_clients():
    wide = narrowed_name(maxLength=200, minimum=0, nullable=True)

    problems = breaking_changes(wide, narrowed_name(maxLength=100, minimum=1))

    assert problems == [
        "POST /things request application/json.name: maxLength narrowed from 200 to 100",
        "POST /things request application/json.name: minimum narrowed from 0 to 1",
        "POST /things request application/json.name: no longer accepts null",
    ]


def test_a_widened_request_field_breaks_nothing():
    assert breaking_changes(narrowed_name(maxLength=100, minimum=1), narrowed_name(maxLength=200)) == []


def test_a_response_field_that_may_now_be_null_breaks_clients():
    new = tiny_schema()
    new["components"]["schemas"]["Thing"]["properties"]["name"]["nullable"] = True

    problems = breaking_changes(tiny_schema(), new)

    assert "GET /things response 200.name: may now be null" in problems


def test_a_changed_format_breaks_clients():
    old, new = tiny_schema(), tiny_schema()
    old["components"]["schemas"]["Thing"]["properties"]["name"]["format"] = "date-time"
    new["components"]["schemas"]["Thing"]["properties"]["name"]["format"] = "date"

    problems = breaking_changes(old, new)

    assert "GET /things response 200.name: format changed from 'date-time' to 'date'" in problems


def test_a_removed_status_code_breaks_clients():
    new = tiny_schema()
    new["paths"]["/things"] = {**new["paths"]["/things"], "post": {**new["paths"]["/things"]["post"]}}
    new["paths"]["/things"]["post"]["responses"] = {"200": new["paths"]["/things"]["post"]["responses"]["201"]}
    assert breaking_changes(tiny_schema(), new) == ["POST /things response 201 removed"]


# --- the real schema ---------------------------------------------------------------------


def test_the_published_v1_document_is_frozen():
    text = FROZEN_V1.read_bytes()

    assert hashlib.sha256(text).hexdigest() == FROZEN_V1_SHA256, (
        "docs/openapi-v1.yaml changed: it is the published v1 contract and is never regenerated "
        "in place; a breaking change needs /api/v2/ (see docs/api.md, 'Versions')"
    )
    assert text.startswith(b"# The OpenAPI document of /api/v1 and /v1 as published: FROZEN.")


def test_the_current_schema_keeps_everything_the_published_v1_promises():
    published = yaml.safe_load(FROZEN_V1.read_text())
    assert {"/api/v1/models", "/api/v1/models/{id}", "/v1/models"} <= set(published["paths"])

    problems = breaking_changes(published, current_schema())

    assert problems == [], "Breaking changes against the published v1 (docs/openapi-v1.yaml):\n" + "\n".join(problems)


def test_the_current_schema_keeps_everything_the_committed_snapshot_promises():
    snapshot = yaml.safe_load(SNAPSHOT.read_text())
    assert snapshot["paths"], "docs/openapi.yaml has no paths"

    problems = breaking_changes(snapshot, current_schema())

    assert problems == [], "Breaking API changes against docs/openapi.yaml:\n" + "\n".join(problems)


def test_the_snapshot_covers_every_documented_endpoint():
    snapshot = yaml.safe_load(SNAPSHOT.read_text())
    for path in ["/api/v1/models", "/api/v1/models/{id}", "/api/v1/models/bulk", "/api/v1/models/options"]:
        assert path in snapshot["paths"]
    assert {"/v1/models", "/v1/models/{name}"} <= set(snapshot["paths"])


def test_the_schema_builds_without_warnings_or_errors(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "llm_admin.test_settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert yaml.safe_load((tmp_path / "s.yaml").read_text())["paths"]


# --- the openai package against /v1/models -------------------------------------------------

# Transactional (a live server in a thread); the flush after each test drops the roles and
# industries the migrations create, and the root conftest puts them back before the next one.
# (Not serialized_rollback: after another transactional test's flush has recreated the content
# types, restoring the serialized ones collides with them.)
pytestmark_live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(make_user):
    """Active, deprecated and inactive models, names with "/" and ":", and a viewer's token."""
    openai_provider = ProviderFactory(slug="openai")
    acme = ProviderFactory(slug="acme.eu")
    current = AIModelFactory(name="acme/chat-2:latest", provider=acme, aliases=["chat-two", "acme/chat:stable"])
    old = AIModelFactory(
        name="gpt-4o:2024-05-13",
        provider=openai_provider,
        status=ModelStatus.DEPRECATED,
        deprecation_date=datetime.date(2030, 1, 31),
    )
    aimodel_update(model=old, actor=None, successor=current)
    undated = AIModelFactory(name="org/legacy", provider=acme, status=ModelStatus.DEPRECATED)
    AIModelFactory(name="hidden/inactive:1", provider=acme, status=ModelStatus.INACTIVE, aliases=["hidden-alias"])
    _, key = api_token_create(user=make_user("viewer"))
    return {"key": key, "current": current, "old": old, "undated": undated}


@pytest.fixture
def client_for(live_server):
    def make(key: str) -> openai.OpenAI:
        return openai.OpenAI(api_key=key, base_url=live_server.url + "/v1", max_retries=0, timeout=20)

    return make


@pytestmark_live
def test_openai_lists_exactly_the_active_and_deprecated_models(catalog, client_for):
    listed = client_for(catalog["key"]).models.list()

    expected = {
        model.name: (int(model.created_at.timestamp()), model.provider.slug)
        for model in AIModel.objects.filter(status__in=[ModelStatus.ACTIVE, ModelStatus.DEPRECATED])
    }
    assert {model.id: (model.created, model.owned_by) for model in listed.data} == expected
    assert len(listed.data) == 3
    assert all(model.object == "model" for model in listed.data)


@pytestmark_live
@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        ("acme/chat-2:latest", "acme/chat-2:latest"),
        ("gpt-4o:2024-05-13", "gpt-4o:2024-05-13"),
        ("org/legacy", "org/legacy"),
        ("chat-two", "acme/chat-2:latest"),
        ("acme/chat:stable", "acme/chat-2:latest"),
        ("ACME/Chat-2:LATEST", "acme/chat-2:latest"),
    ],
)
def test_openai_retrieves_names_with_slashes_and_colons_and_aliases(catalog, client_for, asked, canonical):
    model = client_for(catalog["key"]).models.retrieve(asked)

    stored = AIModel.objects.select_related("provider").get(name=canonical)
    assert model.id == canonical
    assert model.object == "model"
    assert model.owned_by == stored.provider.slug
    assert model.created == int(stored.created_at.timestamp())


@pytestmark_live
@pytest.mark.parametrize("asked", ["no/such:model", "hidden/inactive:1", "hidden-alias"])
def test_openai_unknown_or_unlisted_model_is_model_not_found(catalog, client_for, asked):
    with pytest.raises(openai.NotFoundError) as caught:
        client_for(catalog["key"]).models.retrieve(asked)

    assert caught.value.status_code == 404
    assert caught.value.code == "model_not_found"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.response.json() == {
        "error": {
            "message": f"The model '{asked}' does not exist",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


@pytestmark_live
@pytest.mark.parametrize("key", ["not-a-real-key", "x" * 64])
def test_openai_with_a_bad_key_is_an_authentication_error(catalog, client_for, key):
    client = client_for(key)
    with pytest.raises(openai.AuthenticationError) as listing:
        client.models.list()
    with pytest.raises(openai.AuthenticationError) as retrieving:
        client.models.retrieve("acme/chat-2:latest")

    for caught in (listing, retrieving):
        assert caught.value.status_code == 401
        assert caught.value.code == "invalid_api_key"
        assert caught.value.response.json()["error"]["type"] == "invalid_request_error"


@pytestmark_live
def test_without_a_key_the_listing_answers_401_in_the_openai_shape(catalog, live_server):
    response = requests.get(live_server.url + "/v1/models", timeout=20)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytestmark_live
def test_deprecated_models_carry_deprecation_and_sunset_headers(catalog, client_for, live_server):
    client = client_for(catalog["key"])
    old, undated, current = catalog["old"], catalog["undated"], catalog["current"]
    old.refresh_from_db()
    undated.refresh_from_db()

    raw = client.models.with_raw_response.retrieve(old.name)
    assert raw.headers["Deprecation"] == f"@{int(old.updated_at.timestamp())}"
    assert raw.headers["Sunset"] == format_datetime(datetime.datetime(2030, 1, 31, tzinfo=datetime.UTC), usegmt=True)
    assert raw.headers["Sunset"] == "Thu, 31 Jan 2030 00:00:00 GMT"
    assert raw.headers["Link"] == f'<{live_server.url}/v1/models/{current.name}>; rel="successor-version"'
    assert raw.parse().id == old.name

    by_requests = requests.get(
        f"{live_server.url}/v1/models/{undated.name}",
        headers={"Authorization": f"Bearer {catalog['key']}"},
        timeout=20,
    )
    assert by_requests.status_code == 200
    assert by_requests.headers["Deprecation"] == f"@{int(undated.updated_at.timestamp())}"
    assert "Sunset" not in by_requests.headers

    active = client.models.with_raw_response.retrieve(current.name)
    assert "Deprecation" not in active.headers
    assert "Sunset" not in active.headers
