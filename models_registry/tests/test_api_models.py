"""The REST API under /api/v1 (docs/contract.md section 3), endpoint by endpoint: shapes, status
codes, headers, the audit entries each write leaves, and inputs that must never be a 500."""

import csv
import datetime
import io
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.models import AuditEntry, SecurityEvent
from models_registry.choices import ModelStatus
from models_registry.models import (
    AIModel,
    Industry,
    ModelDependency,
    ModelIndustryProfile,
    Provider,
    RegisteredName,
)
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db

GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
MISSING_ID = 10**9
MODEL_FIELDS = {
    "id", "url", "name", "display_name", "provider", "model_type", "capabilities", "context_window",
    "max_output_tokens", "input_cost_per_million_tokens", "output_cost_per_million_tokens", "status",
    "deprecation_date", "sunset_date", "successor", "description", "industries", "metadata", "aliases",
    "dependency_count", "created_at", "updated_at", "created_by", "updated_by",
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_cache():
    # Options are cached under the catalog version, which restarts with every test's rollback.
    cache.clear()


@pytest.fixture
def openai():
    return ProviderFactory(slug="openai", name="OpenAI")


def send(client, method: str, path: str, body=None, **headers):
    """A JSON request; `body` may be any JSON value, or a str/bytes sent as it is."""
    if method == "get":
        return client.get(path, headers=headers)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(path, data=data, content_type="application/json", headers=headers)


def wire_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def entries_after(mark: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def bulk_models(count: int, provider: Provider, prefix: str = "bulk", **fields) -> list[AIModel]:
    """Many models at once, for read tests (skips the services on purpose: reads only)."""
    return AIModel.objects.bulk_create(
        [AIModel(name=f"{prefix}-{index:04d}", provider=provider, **fields) for index in range(count)]
    )


# --- The list and one model's representation ----------------------------------------


def test_the_list_is_paginated_and_shows_every_field_of_a_model(api_as, make_user, openai):
    alice, bob = make_user("editor", username="alice"), make_user("editor", username="bob")
    successor = AIModelFactory(name="gpt-4.1", provider=openai, actor=alice)
    model = AIModelFactory(
        name="gpt-4o",
        display_name="GPT-4o",
        provider=openai,
        model_type="chat",
        capabilities=["vision", "function_calling", "vision"],
        context_window=128_000,
        max_output_tokens=16_384,
        input_cost_per_million_tokens=Decimal("2.5000"),
        output_cost_per_million_tokens=Decimal("0.0046875"),
        status="deprecated",
        deprecation_date=datetime.date(2026, 1, 31),
        sunset_date=datetime.date(2026, 4, 30),
        successor=successor,
        description="Omni model",
        metadata={"source": "litellm", "tiers": [1, 2]},
        aliases=["gpt-4o-latest"],
        industries=[profile("healthcare", phi_allowed=True), profile("finance", enabled=False)],
        actor=alice,
    )
    aimodel_update(model=model, actor=bob, display_name="GPT-4o (omni)")
    ModelDependencyFactory(model=model, component_id="a1")
    ModelDependencyFactory(model=model, component_id="a2")

    response = api_as("viewer").get("/api/v1/models")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [row["name"] for row in body["results"]] == ["gpt-4.1", "gpt-4o"]
    stored = AIModel.objects.get(pk=model.pk)
    assert body["results"][1] == {
        "id": model.pk,
        "url": f"http://testserver/api/v1/models/{model.pk}",
        "name": "gpt-4o",
        "display_name": "GPT-4o (omni)",
        "provider": "openai",
        "model_type": "chat",
        "capabilities": ["function_calling", "vision"],
        "context_window": 128_000,
        "max_output_tokens": 16_384,
        "input_cost_per_million_tokens": "2.5",
        "output_cost_per_million_tokens": "0.0046875",
        "status": "deprecated",
        "deprecation_date": "2026-01-31",
        "sunset_date": "2026-04-30",
        "successor": "gpt-4.1",
        "description": "Omni model",
        "industries": [
            {"industry": "finance", "enabled": False, "settings": {}},
            {"industry": "healthcare", "enabled": True, "settings": {"phi_allowed": True}},
        ],
        "metadata": {"source": "litellm", "tiers": [1, 2]},
        "aliases": ["gpt-4o-latest"],
        "dependency_count": 2,
        "created_at": wire_time(stored.created_at),
        "updated_at": wire_time(stored.updated_at),
        "created_by": "alice",
        "updated_by": "bob",
    }


def test_a_model_made_by_nobody_has_null_authors_and_null_optional_fields(api_as, openai):
    model = AIModelFactory(name="bare", provider=openai, context_window=None, actor=None)

    row = api_as("viewer").get(f"/api/v1/models/{model.pk}").json()

    assert set(row) == MODEL_FIELDS
    assert (row["created_by"], row["updated_by"]) == (None, None)
    assert (row["context_window"], row["input_cost_per_million_tokens"], row["successor"]) == (None, None, None)
    assert (row["capabilities"], row["aliases"], row["industries"], row["metadata"]) == ([], [], [], {})


def test_costs_are_returned_as_exact_strings(api_as, openai):
    response = send(
        api_as("editor"),
        "post",
        "/api/v1/models",
        {
            "name": "cheap",
            "provider": "openai",
            "input_cost_per_million_tokens": "0.0000000001",
            "output_cost_per_million_tokens": 999999.9999999999,
        },
    )

    assert response.status_code == 201
    assert response.json()["input_cost_per_million_tokens"] == "0.0000000001"
    assert response.json()["output_cost_per_million_tokens"] == "999999.9999999999"
    assert AIModel.objects.get(name="cheap").input_cost_per_million_tokens == Decimal("0.0000000001")


def test_the_default_page_is_50_models_with_links_to_the_next(api_as, openai):
    bulk_models(51, openai)
    client = api_as("viewer")

    first = client.get("/api/v1/models").json()
    second = client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert first["next"] == "http://testserver/api/v1/models?page=2"
    assert [row["name"] for row in second["results"]] == ["bulk-0050"]
    assert second["next"] is None and second["previous"] == "http://testserver/api/v1/models"


def test_page_size_is_capped_at_500(api_as, openai):
    bulk_models(501, openai)

    body = api_as("viewer").get("/api/v1/models", {"page_size": 1000}).json()

    assert body["count"] == 501
    assert len(body["results"]) == 500


def test_a_page_size_of_3_gives_3(api_as, openai):
    bulk_models(5, openai)

    body = api_as("viewer").get("/api/v1/models", {"page_size": 3, "page": 2}).json()

    assert [row["name"] for row in body["results"]] == ["bulk-0003", "bulk-0004"]


@pytest.mark.parametrize("page_size", ["0", "-3", "abc", "1.5", "", "²"])
def test_a_bad_page_size_is_a_400_naming_it(api_as, page_size):
    response = api_as("viewer").get("/api/v1/models", {"page_size": page_size})

    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


# --- Create -------------------------------------------------------------------------


def test_create_answers_201_with_the_model_a_location_and_an_audit_entry(api_as, openai):
    client = api_as("editor")
    body = {
        "name": "claude-3-5-sonnet",
        "display_name": "Claude 3.5 Sonnet",
        "provider": "openai",
        "model_type": "chat",
        "capabilities": ["vision", "streaming", "vision"],
        "context_window": 200_000,
        "input_cost_per_million_tokens": "3",
        "industries": [{"industry": "legal", "settings": {"privileged_data_allowed": False}}],
        "aliases": ["claude-sonnet-latest"],
        "metadata": {"family": "claude"},
    }

    response = send(client, "post", "/api/v1/models", body, **{"X-Change-Reason": "onboarding"})

    created = AIModel.objects.get(name="claude-3-5-sonnet")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/v1/models/{created.pk}"
    assert response["ETag"] == '"1"'
    assert response.json()["id"] == created.pk
    assert response.json()["capabilities"] == ["streaming", "vision"]
    assert response.json()["industries"] == [
        {"industry": "legal", "enabled": True, "settings": {"privileged_data_allowed": False}}
    ]
    assert response.json()["created_by"] == client.user.username
    assert created.capabilities == ["streaming", "vision"]
    assert created.input_cost_per_million_tokens == Decimal(3)
    assert sorted(RegisteredName.objects.filter(model=created).values_list("name", flat=True)) == [
        "claude-3-5-sonnet",
        "claude-sonnet-latest",
    ]
    entry = AuditEntry.objects.get(object_type="aimodel", object_id=str(created.pk))
    assert (entry.action, entry.source, entry.reason) == ("create", "api", "onboarding")
    assert (entry.user_id, entry.username) == (client.user.pk, client.user.username)
    assert entry.request_id == response["X-Request-ID"]
    assert entry.changes["name"] == {"old": None, "new": "claude-3-5-sonnet"}
    profile_entry = AuditEntry.objects.get(object_type="modelindustryprofile")
    assert profile_entry.request_id == response["X-Request-ID"]


def test_an_incoming_request_id_is_stamped_on_the_audit_entry(api_as, openai):
    response = send(
        api_as("editor"), "post", "/api/v1/models", {"name": "m", "provider": "openai"}, **{"X-Request-ID": "trace-42"}
    )

    assert response["X-Request-ID"] == "trace-42"
    assert AuditEntry.objects.get(object_type="aimodel").request_id == "trace-42"


# --- Retrieve, ETag, update ---------------------------------------------------------


def test_retrieve_carries_an_etag_that_moves_with_each_change(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai)
    client = api_as("editor")

    first = client.get(f"/api/v1/models/{model.pk}")
    patched = send(client, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Omni"})
    second = client.get(f"/api/v1/models/{model.pk}")

    assert first.status_code == 200 and first.json()["name"] == "gpt-4o"
    assert first["ETag"] == '"1"'
    assert patched["ETag"] == second["ETag"] == '"2"'
    assert second.json()["display_name"] == "Omni"


def test_retrieve_with_the_current_etag_in_if_none_match_is_a_304(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai)
    client = api_as("viewer")

    response = client.get(f"/api/v1/models/{model.pk}", headers={"If-None-Match": '"1"'})

    assert response.status_code == 304
    assert response.content == b""


def test_a_missing_model_is_a_404(api_as):
    response = api_as("viewer").get(f"/api/v1/models/{MISSING_ID}")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_stale_if_match_is_a_412_and_changes_nothing(api_as, make_user, openai, method):
    model = AIModelFactory(name="gpt-4o", provider=openai, display_name="Original")
    aimodel_update(model=model, actor=make_user("editor"), context_window=64_000)  # now version 2
    mark = last_entry_id()

    response = send(
        api_as("editor"),
        method,
        f"/api/v1/models/{model.pk}",
        {"name": "gpt-4o", "provider": "openai", "display_name": "Mine"},
        **{"If-Match": '"1"'},
    )

    stored = AIModel.objects.get(pk=model.pk)
    assert response.status_code == 412
    assert set(response.json()) == {"detail"}
    assert (stored.display_name, stored.version, stored.context_window) == ("Original", 2, 64_000)
    assert entries_after(mark) == []


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_current_if_match_lets_the_update_through(api_as, openai, method):
    model = AIModelFactory(name="gpt-4o", provider=openai, display_name="Original")
    client = api_as("editor")
    tag = client.get(f"/api/v1/models/{model.pk}")["ETag"]

    response = send(
        client,
        method,
        f"/api/v1/models/{model.pk}",
        {"name": "gpt-4o", "provider": "openai", "display_name": "Mine"},
        **{"If-Match": tag, "X-Change-Reason": "rename"},
    )

    entry = AuditEntry.objects.filter(object_type="aimodel", action="update").get()
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["display_name"] == AIModel.objects.get(pk=model.pk).display_name == "Mine"
    assert response.json()["updated_by"] == client.user.username
    assert entry.changes["display_name"] == {"old": "Original", "new": "Mine"}
    assert (entry.reason, entry.source, entry.username) == ("rename", "api", client.user.username)


def test_patch_leaves_the_fields_it_does_not_name_alone(api_as, openai):
    model = AIModelFactory(
        name="gpt-4o",
        provider=openai,
        capabilities=["vision"],
        input_cost_per_million_tokens=Decimal("2.5"),
        aliases=["omni"],
        metadata={"k": "v"},
        description="keep me",
        industries=[profile("retail")],
    )
    client = api_as("editor")
    before = client.get(f"/api/v1/models/{model.pk}").json()

    response = send(client, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Omni"})

    after = client.get(f"/api/v1/models/{model.pk}").json()
    assert response.status_code == 200
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"display_name", "updated_at", "updated_by"}
    assert ModelIndustryProfile.objects.filter(model=model).count() == 1


def test_put_replaces_the_model_and_resets_what_it_leaves_out(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai, capabilities=["vision"], industries=[profile("retail")])

    response = send(api_as("editor"), "put", f"/api/v1/models/{model.pk}", {"name": "gpt-4o", "provider": "openai"})

    stored = AIModel.objects.get(pk=model.pk)
    assert response.status_code == 200
    assert (stored.capabilities, stored.context_window) == ([], None)
    assert response.json()["industries"] == []


def test_a_patch_that_changes_nothing_records_nothing(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai, display_name="Same")
    mark = last_entry_id()

    response = send(api_as("editor"), "patch", f"/api/v1/models/{model.pk}", {"display_name": "Same"})

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert entries_after(mark) == []


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "has space"}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": "n" * 201}, {"name"}),
        ({"context_window": 0}, {"context_window"}),
        ({"context_window": 100_000_001}, {"context_window"}),
        ({"max_output_tokens": -1}, {"max_output_tokens"}),
        ({"max_output_tokens": 100_000_001}, {"max_output_tokens"}),
        ({"input_cost_per_million_tokens": "-0.01"}, {"input_cost_per_million_tokens"}),
        ({"input_cost_per_million_tokens": "1000000"}, {"input_cost_per_million_tokens"}),
        ({"output_cost_per_million_tokens": "0.00000000001"}, {"output_cost_per_million_tokens"}),
        ({"capabilities": ["vision", "telepathy"]}, {"capabilities"}),
        ({"capabilities": "vision"}, {"capabilities"}),
        ({"model_type": "gpt"}, {"model_type"}),
        ({"status": "retired"}, {"status"}),
        ({"provider": "nobody"}, {"provider"}),
        ({"successor": "no-such-model"}, {"successor"}),
        ({"deprecation_date": "2024-13-01"}, {"deprecation_date"}),
        ({"metadata": [1, 2]}, {"metadata"}),
        ({"aliases": ["bad alias"]}, {"aliases"}),
        ({"aliases": ["dup", "DUP"]}, {"aliases"}),
        ({"industries": [{"industry": "healthcare", "settings": {"phi_allowed": "yes"}}]}, {"industries"}),
        ({"industries": [{"industry": "retail"}, {"industry": "retail"}]}, {"industries"}),
        (
            {"name": "bad name", "context_window": -1, "max_output_tokens": -5},
            {"name", "context_window", "max_output_tokens"},
        ),
    ],
)
def test_invalid_input_is_a_400_keyed_by_field_and_creates_nothing(api_as, openai, fields, errors):
    response = send(api_as("editor"), "post", "/api/v1/models", {"name": "new-model", "provider": "openai", **fields})

    assert response.status_code == 400
    assert set(response.json()) == errors
    assert all(response.json()[key] for key in errors)
    assert not AIModel.objects.exists()


def test_errors_in_a_nested_industry_nest_under_its_position(api_as, openai):
    body = {"name": "m", "provider": "openai", "industries": [{"industry": "retail"}, {"industry": "nope"}]}

    response = send(api_as("editor"), "post", "/api/v1/models", body)

    assert response.status_code == 400
    assert set(response.json()) == {"industries"}
    assert set(response.json()["industries"]) == {"1"}
    assert list(response.json()["industries"]["1"]) == ["industry"]


def test_a_setting_that_breaks_its_industry_rules_is_named_in_the_error(api_as, openai):
    body = {"name": "m", "provider": "openai", "industries": [{"industry": "education", "settings": {"x": 1}}]}

    response = send(api_as("editor"), "post", "/api/v1/models", body)

    assert response.status_code == 400
    assert "'x' was unexpected" in " ".join(response.json()["industries"])


def test_a_missing_name_and_provider_are_both_reported(api_as):
    response = send(api_as("editor"), "post", "/api/v1/models", {})

    assert response.status_code == 400
    assert set(response.json()) == {"name", "provider"}


def test_a_name_taken_in_another_case_is_refused(api_as, openai):
    AIModelFactory(name="gpt-4o", provider=openai)

    response = send(api_as("editor"), "post", "/api/v1/models", {"name": "GPT-4O", "provider": "openai"})

    assert response.status_code == 400
    assert response.json() == {"name": ["A model with this name already exists."]}
    assert AIModel.objects.count() == 1


def test_an_alias_may_not_take_another_models_name_or_alias(api_as, openai):
    AIModelFactory(name="gpt-4o", provider=openai, aliases=["omni-latest"])
    client = api_as("editor")

    name_clash = send(client, "post", "/api/v1/models", {"name": "m1", "provider": "openai", "aliases": ["GPT-4o"]})
    alias_clash = send(
        client, "post", "/api/v1/models", {"name": "m2", "provider": "openai", "aliases": ["Omni-Latest"]}
    )
    name_is_alias = send(client, "post", "/api/v1/models", {"name": "OMNI-latest", "provider": "openai"})

    assert (name_clash.status_code, set(name_clash.json())) == (400, {"aliases"})
    assert (alias_clash.status_code, set(alias_clash.json())) == (400, {"aliases"})
    assert (name_is_alias.status_code, set(name_is_alias.json())) == (400, {"name"})
    assert AIModel.objects.count() == 1


def test_an_update_that_would_make_a_successor_cycle_is_refused(api_as, openai):
    old = AIModelFactory(name="old", provider=openai)
    new = AIModelFactory(name="new", provider=openai, successor=old)

    response = send(api_as("editor"), "patch", f"/api/v1/models/{old.pk}", {"successor": "new"})

    assert response.status_code == 400
    assert set(response.json()) == {"successor"}
    assert AIModel.objects.get(pk=old.pk).successor is None
    assert AIModel.objects.get(pk=new.pk).successor_id == old.pk


# --- Delete -------------------------------------------------------------------------


def test_delete_answers_204_and_records_the_deletion(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai, industries=[profile("retail")])
    client = api_as("admin")

    response = client.delete(f"/api/v1/models/{model.pk}", headers={"X-Change-Reason": "retired"})

    entry = AuditEntry.objects.get(object_type="aimodel", action="delete")
    assert response.status_code == 204
    assert response.content == b""
    assert not AIModel.objects.filter(pk=model.pk).exists()
    assert not RegisteredName.objects.exists()
    assert (entry.object_id, entry.reason, entry.source) == (str(model.pk), "retired", "api")
    assert entry.username == client.user.username
    assert entry.request_id == response["X-Request-ID"]


def test_delete_of_a_model_in_use_is_a_409_naming_its_dependencies_and_deletes_nothing(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai)
    dependency = ModelDependencyFactory(model=model, component_id="support-bot", component_name="Support bot")
    predecessor = AIModelFactory(name="gpt-4", provider=openai, successor=model)
    mark = last_entry_id()

    response = api_as("admin").delete(f"/api/v1/models/{model.pk}")

    assert response.status_code == 409
    assert set(response.json()) == {"detail", "dependencies"}
    assert sorted(response.json()["dependencies"], key=lambda d: d["component_type"]) == [
        {
            "id": dependency.pk,
            "component_type": "agent",
            "component_id": "support-bot",
            "component_name": "Support bot",
        },
        {
            "id": None,
            "component_type": "aimodel.successor",
            "component_id": str(predecessor.pk),
            "component_name": "gpt-4",
        },
    ]
    assert AIModel.objects.filter(pk=model.pk).exists()
    assert ModelDependency.objects.filter(pk=dependency.pk).exists()
    assert entries_after(mark) == []


def test_delete_of_a_missing_model_is_a_404(api_as):
    assert api_as("admin").delete(f"/api/v1/models/{MISSING_ID}").status_code == 404


# --- Dependencies -------------------------------------------------------------------


def test_dependencies_are_registered_once_listed_and_unregistered(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai)
    client = api_as("editor")
    component = {"component_type": "workflow", "component_id": "wf-7", "component_name": "Triage", "owner": "ops-team"}
    path = f"/api/v1/models/{model.pk}/dependencies"

    empty = client.get(path)
    first = send(client, "post", path, component)
    again = send(client, "post", path, {**component, "component_name": "Renamed", "owner": "someone-else"})
    listed = client.get(path)

    dependency = ModelDependency.objects.get(model=model)
    assert (empty.status_code, empty.json()) == (200, [])
    assert first.status_code == 201
    assert first.json() == {
        "id": dependency.pk,
        **component,
        "registered_at": wire_time(dependency.registered_at),
        "registered_by": client.user.username,
    }
    assert again.status_code == 200
    assert again.json() == first.json()
    assert listed.json() == [first.json()]
    assert client.get(f"/api/v1/models/{model.pk}").json()["dependency_count"] == 1
    entry = AuditEntry.objects.get(object_type="modeldependency")
    assert (entry.action, entry.source, entry.username) == ("create", "api", client.user.username)

    removed = client.delete(f"{path}/{dependency.pk}", headers={"X-Change-Reason": "agent retired"})

    assert removed.status_code == 204
    assert not ModelDependency.objects.exists()
    deletion = AuditEntry.objects.get(object_type="modeldependency", action="delete")
    assert (deletion.reason, deletion.request_id) == ("agent retired", removed["X-Request-ID"])
    assert client.delete(f"{path}/{dependency.pk}").status_code == 404


def test_a_dependency_of_another_model_cannot_be_unregistered_through_this_one(api_as, openai):
    mine, other = AIModelFactory(name="mine", provider=openai), AIModelFactory(name="other", provider=openai)
    dependency = ModelDependencyFactory(model=other)

    response = api_as("editor").delete(f"/api/v1/models/{mine.pk}/dependencies/{dependency.pk}")

    assert response.status_code == 404
    assert ModelDependency.objects.filter(pk=dependency.pk).exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"component_id": "x"}, {"component_type"}),
        ({"component_type": "Not A Slug", "component_id": "x"}, {"component_type"}),
        ({"component_type": "agent", "component_id": "x" * 201}, {"component_id"}),
        ({"component_type": "agent"}, {"component_id"}),
    ],
)
def test_a_bad_dependency_is_a_400(api_as, openai, body, errors):
    model = AIModelFactory(name="gpt-4o", provider=openai)

    response = send(api_as("editor"), "post", f"/api/v1/models/{model.pk}/dependencies", body)

    assert response.status_code == 400
    assert set(response.json()) == errors
    assert not ModelDependency.objects.exists()


def test_dependencies_of_a_missing_model_are_a_404(api_as):
    client = api_as("editor")
    path = f"/api/v1/models/{MISSING_ID}/dependencies"

    assert client.get(path).status_code == 404
    assert send(client, "post", path, {"component_type": "agent", "component_id": "x"}).status_code == 404


# --- History ------------------------------------------------------------------------


def test_history_lists_the_models_audit_entries_newest_first(api_as, openai):
    client = api_as("admin")
    created = send(client, "post", "/api/v1/models", {"name": "gpt-4o", "provider": "openai"}).json()
    send(client, "patch", f"/api/v1/models/{created['id']}", {"display_name": "One"})
    send(client, "patch", f"/api/v1/models/{created['id']}", {"display_name": "Two"})
    AIModelFactory(name="unrelated", provider=openai)

    response = client.get(f"/api/v1/models/{created['id']}/history")

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert [entry["action"] for entry in body["results"]] == ["update", "update", "create"]
    assert [entry["changes"].get("display_name") for entry in body["results"][:2]] == [
        {"old": "One", "new": "Two"},
        {"old": "", "new": "One"},
    ]
    assert {entry["object_id"] for entry in body["results"]} == {str(created["id"])}
    assert body["results"][0]["user"] == client.user.username
    assert set(body["results"][0]) == {
        "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
        "source", "request_id", "parent_type", "parent_id",
    }  # fmt: skip


def test_history_shows_a_change_to_the_models_industries(api_as, openai):
    # docs/contract.md §1 makes `industries` a field of the model; changing it through
    # PATCH /models/{id} is a change of this model, so its history must show it.
    model = AIModelFactory(name="gpt-4o", provider=openai)
    client = api_as("editor")
    before = client.get(f"/api/v1/models/{model.pk}/history").json()["count"]

    send(client, "patch", f"/api/v1/models/{model.pk}", {"industries": [{"industry": "retail"}]})

    history = client.get(f"/api/v1/models/{model.pk}/history").json()
    assert history["count"] == before + 1
    assert "retail" in json.dumps(history["results"][0])


def test_history_of_a_missing_model_is_a_404(api_as):
    assert api_as("viewer").get(f"/api/v1/models/{MISSING_ID}/history").status_code == 404


# --- Bulk operations ----------------------------------------------------------------


def test_bulk_delete_reports_each_item_in_the_contracts_shape(api_as, openai):
    free = AIModelFactory(name="free", provider=openai)
    used = AIModelFactory(name="used", provider=openai)
    dependency = ModelDependencyFactory(model=used, component_id="bot", component_name="Bot")
    client = api_as("admin")
    ids = [free.pk, used.pk, MISSING_ID]

    response = send(client, "post", "/api/v1/models/bulk", {"action": "delete", "ids": ids, "atomic": False})

    assert response.status_code == 200
    assert response.json() == {
        "action": "delete",
        "total": 3,
        "succeeded": 1,
        "failed": 2,
        "results": [
            {"id": free.pk, "ok": True},
            {
                "id": used.pk,
                "ok": False,
                "error": "has dependencies",
                "dependencies": [
                    {"id": dependency.pk, "component_type": "agent", "component_id": "bot", "component_name": "Bot"}
                ],
            },
            {"id": MISSING_ID, "ok": False, "error": "not found"},
        ],
    }
    assert list(AIModel.objects.values_list("name", flat=True)) == ["used"]
    entry = AuditEntry.objects.get(object_type="aimodel", action="delete")
    assert (entry.object_id, entry.source, entry.username) == (str(free.pk), "bulk", client.user.username)
    assert entry.request_id == response["X-Request-ID"]


def test_an_atomic_bulk_operation_with_a_failure_changes_nothing(api_as, openai):
    first = AIModelFactory(name="first", provider=openai)
    second = AIModelFactory(name="second", provider=openai)
    mark = last_entry_id()

    response = send(
        api_as("admin"),
        "post",
        "/api/v1/models/bulk",
        {"action": "deactivate", "ids": [first.pk, second.pk, MISSING_ID], "atomic": True},
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["total"], body["succeeded"], body["failed"]) == (3, 0, 3)
    assert [item["ok"] for item in body["results"]] == [False, False, False]
    assert body["results"][2] == {"id": MISSING_ID, "ok": False, "error": "not found"}
    assert set(AIModel.objects.values_list("status", flat=True)) == {ModelStatus.ACTIVE}
    assert entries_after(mark) == []


def test_a_bulk_status_change_writes_one_audit_entry_per_model(api_as, openai):
    models = [AIModelFactory(name=f"m{i}", provider=openai) for i in range(3)]
    client = api_as("admin")
    mark = last_entry_id()

    response = send(client, "post", "/api/v1/models/bulk", {"action": "deprecate", "ids": [m.pk for m in models]})

    entries = [e for e in entries_after(mark) if e.object_type == "aimodel"]
    assert response.json()["succeeded"] == 3
    assert set(AIModel.objects.values_list("status", flat=True)) == {ModelStatus.DEPRECATED}
    assert sorted(e.object_id for e in entries) == sorted(str(m.pk) for m in models)
    assert {(e.action, e.source, e.username, e.request_id) for e in entries} == {
        ("update", "bulk", client.user.username, response["X-Request-ID"])
    }
    assert [e.changes for e in entries] == [{"status": {"old": "active", "new": "deprecated"}}] * 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "activate", "ids": list(range(1, 1002))}, "ids"),
        ({"action": "activate", "ids": []}, "ids"),
        ({"action": "activate"}, "ids"),
        ({"action": "explode", "ids": [1]}, "action"),
        ({"ids": [1]}, "action"),
        ({"action": "activate", "ids": ["one"]}, "ids"),
        ({"action": "activate", "ids": 5}, "ids"),
        ({"action": "activate", "ids": [1], "atomic": "perhaps"}, "atomic"),
    ],
)
def test_a_bad_bulk_request_is_a_400_naming_the_field(api_as, openai, body, field):
    model = AIModelFactory(name="m", provider=openai, status="inactive")

    response = send(api_as("admin"), "post", "/api/v1/models/bulk", body)

    assert response.status_code == 400
    assert field in response.json()
    assert AIModel.objects.get(pk=model.pk).status == "inactive"


def test_a_thousand_ids_are_accepted(api_as, openai):
    models = bulk_models(3, openai, status="inactive")

    response = send(
        api_as("admin"),
        "post",
        "/api/v1/models/bulk",
        {"action": "activate", "ids": [m.pk for m in models] + list(range(MISSING_ID, MISSING_ID + 997))},
    )

    assert response.status_code == 200
    assert (response.json()["total"], response.json()["succeeded"]) == (1000, 3)


def test_bulk_delete_needs_the_delete_permission_besides_bulk(make_user, openai):
    user = make_user(None)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["bulk_aimodel", "view_aimodel", "change_aimodel"])
    )
    _, key = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    model = AIModelFactory(name="m", provider=openai, status="inactive")
    denials = SecurityEvent.objects.filter(event="permission_denied").count()

    deleting = send(client, "post", "/api/v1/models/bulk", {"action": "delete", "ids": [model.pk]})
    activating = send(client, "post", "/api/v1/models/bulk", {"action": "activate", "ids": [model.pk]})

    assert deleting.status_code == 403
    assert activating.status_code == 200
    assert AIModel.objects.get(pk=model.pk).status == "active"
    assert SecurityEvent.objects.filter(event="permission_denied").count() == denials + 1


# --- The selection list -------------------------------------------------------------


@pytest.fixture
def catalog(openai):
    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    return {
        "zeta": AIModelFactory(name="zeta", provider=openai, capabilities=["vision"]),
        "alpha": AIModelFactory(name="alpha", provider=openai, model_type="embedding"),
        "claude": AIModelFactory(
            name="claude", display_name="Claude", provider=anthropic, capabilities=["vision", "reasoning"],
            industries=[profile("healthcare")],
        ),
        "off": AIModelFactory(name="off", provider=anthropic, status="inactive"),
        "old": AIModelFactory(name="old", provider=openai, status="deprecated"),
        "disabled": AIModelFactory(name="disabled", provider=openai, industries=[profile("healthcare", enabled=False)]),
    }  # fmt: skip


def option_names(response) -> list[str]:
    return [row["name"] for row in response.json()]


def test_options_list_active_models_by_provider_then_name(api_as, catalog):
    response = api_as("viewer").get("/api/v1/models/options")

    assert response.status_code == 200
    assert option_names(response) == ["claude", "alpha", "disabled", "zeta"]
    assert response.json()[0] == {
        "id": catalog["claude"].pk,
        "name": "claude",
        "display_name": "Claude",
        "provider": "anthropic",
        "model_type": "chat",
    }


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"model_type": "embedding"}, ["alpha"]),
        ({"model_type": ["embedding", "chat"]}, ["claude", "alpha", "disabled", "zeta"]),
        ({"industry": "healthcare"}, ["claude"]),
        ({"capability": "vision"}, ["claude", "zeta"]),
        ({"capability": ["vision", "reasoning"]}, ["claude"]),
        ({"capability": "vision", "model_type": "embedding"}, []),
    ],
)
def test_options_filter_by_type_industry_and_capability(api_as, catalog, params, names):
    assert option_names(api_as("viewer").get("/api/v1/models/options", params)) == names


@pytest.mark.parametrize("params", [{"model_type": "gpt"}, {"capability": "telepathy"}, {"industry": "Not A Slug"}])
def test_a_bad_options_filter_is_a_400_naming_it(api_as, catalog, params):
    response = api_as("viewer").get("/api/v1/models/options", params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_options_answer_304_to_the_current_etag(api_as, catalog):
    client = api_as("viewer")
    tag = client.get("/api/v1/models/options")["ETag"]

    response = client.get("/api/v1/models/options", headers={"If-None-Match": tag})
    filtered = client.get("/api/v1/models/options", {"capability": "vision"}, headers={"If-None-Match": tag})

    assert tag
    assert response.status_code == 304
    assert response["ETag"] == tag
    assert filtered.status_code == 200  # another filter is another list, with another tag


def test_options_show_a_change_at_once_with_a_new_etag(api_as, catalog):
    client = api_as("admin")
    tag = client.get("/api/v1/models/options")["ETag"]

    send(client, "patch", f"/api/v1/models/{catalog['zeta'].pk}", {"status": "inactive"})
    after_patch = client.get("/api/v1/models/options", headers={"If-None-Match": tag})
    send(client, "post", "/api/v1/models/bulk", {"action": "activate", "ids": [catalog["off"].pk]})
    after_bulk = client.get("/api/v1/models/options")
    aimodel_update(model=catalog["alpha"], actor=None, name="aardvark")
    after_service = client.get("/api/v1/models/options")

    assert after_patch.status_code == 200
    assert after_patch["ETag"] != tag
    assert option_names(after_patch) == ["claude", "alpha", "disabled"]
    assert option_names(after_bulk) == ["claude", "off", "alpha", "disabled"]
    assert option_names(after_service) == ["claude", "off", "aardvark", "disabled"]


# --- Providers and industries -------------------------------------------------------


def test_providers_and_industries_are_listed_for_viewers(api_as, openai):
    ProviderFactory(slug="anthropic", name="Anthropic")
    client = api_as("viewer")

    providers = client.get("/api/v1/providers").json()
    industries = client.get("/api/v1/industries").json()

    assert providers["count"] == 2
    assert providers["results"][1] == {
        "id": openai.pk,
        "slug": "openai",
        "name": "OpenAI",
        "website": "",
        "description": "",
    }
    assert [row["slug"] for row in providers["results"]] == ["anthropic", "openai"]
    assert [row["slug"] for row in industries["results"]] == sorted(Industry.objects.values_list("slug", flat=True))
    assert {"general", "healthcare", "finance"} <= {row["slug"] for row in industries["results"]}
    assert set(industries["results"][0]) == {"id", "slug", "name", "description", "settings_schema"}


def test_administrators_create_change_and_delete_providers(api_as):
    client = api_as("admin")

    created = send(
        client, "post", "/api/v1/providers", {"slug": "mistral", "name": "Mistral", "website": "https://mistral.ai"}
    )
    provider_id = created.json()["id"]
    changed = send(
        client, "patch", f"/api/v1/providers/{provider_id}", {"name": "Mistral AI"}, **{"X-Change-Reason": "rebrand"}
    )
    deleted = client.delete(f"/api/v1/providers/{provider_id}")

    assert created.status_code == 201
    assert created.json()["slug"] == "mistral"
    assert changed.status_code == 200 and changed.json()["name"] == "Mistral AI"
    assert deleted.status_code == 204
    assert not Provider.objects.filter(slug="mistral").exists()
    entries = AuditEntry.objects.filter(object_type="provider").order_by("id")
    assert [(e.action, e.source, e.username) for e in entries] == [
        ("create", "api", client.user.username),
        ("update", "api", client.user.username),
        ("delete", "api", client.user.username),
    ]
    assert entries[1].reason == "rebrand"
    assert entries[1].changes == {"name": {"old": "Mistral", "new": "Mistral AI"}}


def test_administrators_create_and_delete_industries(api_as):
    client = api_as("admin")
    schema = {"type": "object", "properties": {"grade": {"type": "integer"}}}

    created = send(
        client, "post", "/api/v1/industries", {"slug": "energy", "name": "Energy", "settings_schema": schema}
    )
    deleted = client.delete(f"/api/v1/industries/{created.json()['id']}")

    assert created.status_code == 201
    assert created.json()["settings_schema"] == schema
    assert deleted.status_code == 204
    assert not Industry.objects.filter(slug="energy").exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/providers", {"slug": "Not Slug", "name": "x"}, "slug"),
        ("/api/v1/providers", {"slug": "openai", "name": "again"}, "slug"),
        ("/api/v1/providers", {"slug": "ok", "name": "x", "website": "not a url"}, "website"),
        ("/api/v1/industries", {"slug": "x", "name": "x", "settings_schema": {"type": 5}}, "settings_schema"),
        ("/api/v1/industries", {"slug": "x", "name": "x", "settings_schema": []}, "settings_schema"),
    ],
)
def test_a_bad_provider_or_industry_is_a_400(api_as, openai, path, body, field):
    response = send(api_as("admin"), "post", path, body)

    assert response.status_code == 400
    assert field in response.json()


def test_a_provider_in_use_cannot_be_deleted(api_as, openai):
    AIModelFactory(name="gpt-4o", provider=openai)

    response = api_as("admin").delete(f"/api/v1/providers/{openai.pk}")

    assert response.status_code == 409
    assert response.json()["detail"]
    assert response.json()["used_by"] == ["gpt-4o"]
    assert Provider.objects.filter(pk=openai.pk).exists()


def test_an_industry_in_use_cannot_be_deleted(api_as, openai):
    AIModelFactory(name="gpt-4o", provider=openai, industries=[profile("retail")])
    retail = Industry.objects.get(slug="retail")

    response = api_as("admin").delete(f"/api/v1/industries/{retail.pk}")

    assert response.status_code == 409
    assert Industry.objects.filter(pk=retail.pk).exists()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_administrators_write_providers(api_as, openai, role):
    client = api_as(role)

    created = send(client, "post", "/api/v1/providers", {"slug": "mistral", "name": "Mistral"})
    deleted = client.delete(f"/api/v1/providers/{openai.pk}")

    assert (created.status_code, deleted.status_code) == (403, 403)
    assert list(Provider.objects.values_list("slug", flat=True)) == ["openai"]


# --- The audit log ------------------------------------------------------------------


@pytest.fixture
def audit_story(api_as, make_user, openai):
    """A short history: a CLI-made model, an editor's API create, an administrator's
    update and a bulk deactivation; with the entry ids of each step."""
    steps = {}
    mark = 0  # the provider, made by the `openai` fixture, is part of the CLI step
    AIModelFactory(name="from-cli", provider=openai)
    steps["cli"] = [e.pk for e in entries_after(mark)]

    editor, admin = api_as("editor", username="ed"), api_as("admin", username="ada")
    mark = last_entry_id()
    created = send(
        editor, "post", "/api/v1/models", {"name": "gpt-4o", "provider": "openai"}, **{"X-Change-Reason": "new"}
    )
    steps["create"] = [e.pk for e in entries_after(mark)]
    steps["middle"] = timezone.now()

    mark = last_entry_id()
    send(admin, "patch", f"/api/v1/models/{created.json()['id']}", {"display_name": "Omni"})
    steps["update"] = [e.pk for e in entries_after(mark)]
    mark = last_entry_id()
    send(admin, "post", "/api/v1/models/bulk", {"action": "deactivate", "ids": [created.json()["id"]]})
    steps["bulk"] = [e.pk for e in entries_after(mark)]
    steps["model_id"] = created.json()["id"]
    steps["client"] = admin
    return steps


def audit_ids(client, params=None) -> list[int]:
    response = client.get("/api/v1/audit", {"page_size": 500, **(params or {})})
    assert response.status_code == 200
    return [entry["id"] for entry in response.json()["results"]]


def newest_first(*groups) -> list[int]:
    return sorted((pk for group in groups for pk in group), reverse=True)


def test_the_audit_log_lists_every_entry_newest_first(audit_story):
    client = audit_story["client"]

    assert audit_ids(client) == newest_first(
        audit_story["cli"], audit_story["create"], audit_story["update"], audit_story["bulk"]
    )


def test_the_audit_log_filters_by_object_user_action_source_and_time(audit_story):
    client, model_id = audit_story["client"], str(audit_story["model_id"])
    since = audit_story["middle"].isoformat()

    assert audit_ids(client, {"object_type": "aimodel", "object_id": model_id}) == newest_first(
        audit_story["create"], audit_story["update"], audit_story["bulk"]
    )
    assert audit_ids(client, {"user": "ed"}) == newest_first(audit_story["create"])
    assert audit_ids(client, {"action": "update"}) == newest_first(audit_story["update"], audit_story["bulk"])
    assert audit_ids(client, {"source": "bulk"}) == newest_first(audit_story["bulk"])
    assert audit_ids(client, {"source": "cli"}) == newest_first(audit_story["cli"])
    assert audit_ids(client, {"since": since}) == newest_first(audit_story["update"], audit_story["bulk"])
    assert audit_ids(client, {"until": since}) == newest_first(audit_story["cli"], audit_story["create"])
    assert audit_ids(client, {"user": "ada", "source": "api"}) == newest_first(audit_story["update"])


@pytest.mark.parametrize(
    "params", [{"action": "explode"}, {"source": "fax"}, {"since": "yesterday"}, {"until": "2024-13-01"}]
)
def test_a_bad_audit_filter_is_a_400_naming_it(audit_story, params):
    response = audit_story["client"].get("/api/v1/audit", params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_the_audit_log_as_csv_has_the_same_rows(audit_story):
    client = audit_story["client"]
    params = {"object_type": "aimodel", "object_id": str(audit_story["model_id"])}

    response = client.get("/api/v1/audit", {**params, "format": "csv"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert [int(row["id"]) for row in rows] == audit_ids(client, params)
    assert list(rows[0]) == [
        "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
        "source", "request_id",
    ]  # fmt: skip
    assert [(row["action"], row["source"], row["user"]) for row in rows][-1] == ("create", "api", "ed")
    assert rows[-1]["reason"] == "new"


def test_the_audit_log_has_no_write_methods(audit_story):
    client = audit_story["client"]
    entry_id = audit_story["create"][0]

    assert send(client, "post", "/api/v1/audit", {"action": "create"}).status_code == 405
    assert client.delete(f"/api/v1/audit/{entry_id}").status_code in (404, 405)
    assert AuditEntry.objects.filter(pk=entry_id).exists()


def test_the_security_log_shows_each_denial_with_who_what_and_where(api_as, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai)
    viewer = api_as("viewer", username="vic")
    denied = viewer.delete(f"/api/v1/models/{model.pk}")

    response = api_as("admin").get("/api/v1/audit/security", {"event": "permission_denied"})

    event = response.json()["results"][0]
    assert denied.status_code == 403
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert event["event"] == "permission_denied"
    assert (event["user"], event["method"], event["path"]) == ("vic", "DELETE", f"/api/v1/models/{model.pk}")
    assert event["ip_address"] == "127.0.0.1"
    assert event["request_id"] == denied["X-Request-ID"]
    assert event["count"] == 1 and event["last_seen_at"] == event["timestamp"]
    assert set(event) == {
        "id", "timestamp", "last_seen_at", "count", "event", "user", "ip_address", "method", "path", "request_id",
        "detail",
    }  # fmt: skip


def test_the_security_log_is_newest_first_and_filters_by_user(api_as):
    first, second = api_as("viewer", username="first"), api_as("viewer", username="second")
    first.get("/api/v1/audit")
    second.get("/api/v1/audit")
    admin = api_as("admin")

    everything = admin.get("/api/v1/audit/security", {"event": "permission_denied"}).json()["results"]
    only_first = admin.get("/api/v1/audit/security", {"user": "first"}).json()["results"]

    assert [event["user"] for event in everything] == ["second", "first"]
    assert {event["user"] for event in only_first} == {"first"}


# --- Health -------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_credentials():
    client = APIClient()

    health = client.get("/healthz")
    ready = client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok", "cache": "ok"})


def test_readyz_is_a_503_naming_the_cache_when_it_is_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("llm_admin.api.health.cache.set", broken)

    response = APIClient().get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "ok"
    assert response.json()["cache"].startswith("error")


# --- Protocol errors ----------------------------------------------------------------


def test_malformed_json_is_a_400(api_as):
    response = send(api_as("editor"), "post", "/api/v1/models", '{"name": "x",')

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_an_unsupported_content_type_is_a_415(api_as, content_type):
    response = api_as("editor").post("/api/v1/models", data="name=x", content_type=content_type)

    assert response.status_code == 415
    assert set(response.json()) == {"detail"}
    assert not AIModel.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/models/abc", "/api/v1/models/1/nope", "/api/v2/models", "/v1/nope/x/y"]
)
def test_an_unknown_route_is_a_json_404(api_as, path):
    response = api_as("viewer").get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    # /v1/ answers in OpenAI's error shape (docs/contract.md §4).
    assert set(response.json()) == ({"error"} if path.startswith("/v1/") else {"detail"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/models"),
        ("put", "/api/v1/models"),
        ("post", "/api/v1/models/{id}"),
        ("put", "/api/v1/models/options"),
        ("get", "/api/v1/models/bulk"),
        ("patch", "/api/v1/models/{id}/history"),
        ("put", "/api/v1/models/{id}/dependencies"),
    ],
)
def test_a_wrong_method_is_a_405(api_as, openai, method, path):
    model = AIModelFactory(name="m", provider=openai)

    response = send(api_as("admin"), method, path.format(id=model.pk), {})

    assert response.status_code == 405
    assert set(response.json()) == {"detail"}


def test_a_body_over_the_upload_limit_is_a_413_and_changes_nothing(api_as, openai, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256
    model = AIModelFactory(name="m", provider=openai)
    client = api_as("editor")

    created = send(client, "post", "/api/v1/models", {"name": "big", "provider": "openai", "description": "x" * 1000})
    patched = send(client, "patch", f"/api/v1/models/{model.pk}", {"description": "x" * 1000})
    small = send(client, "patch", f"/api/v1/models/{model.pk}", {"description": "fits"})

    assert (created.status_code, patched.status_code) == (413, 413)
    assert set(created.json()) == {"detail"}
    assert GENERATED_REQUEST_ID.match(created["X-Request-ID"])
    assert list(AIModel.objects.values_list("name", "description")) == [("m", "fits")]
    assert small.status_code == 200


def test_every_response_carries_its_own_request_id(api_as, openai, settings):
    model = AIModelFactory(name="m", provider=openai)
    ModelDependencyFactory(model=model)
    viewer, admin = api_as("viewer"), api_as("admin")
    responses = [
        (200, viewer.get("/api/v1/models")),
        (201, send(admin, "post", "/api/v1/models", {"name": "n", "provider": "openai"})),
        (304, viewer.get(f"/api/v1/models/{model.pk}", headers={"If-None-Match": '"1"'})),
        (400, send(admin, "post", "/api/v1/models", {})),
        (401, APIClient().get("/api/v1/models")),
        (403, viewer.delete(f"/api/v1/models/{model.pk}")),
        (404, viewer.get("/api/v1/nothing")),
        (405, admin.delete("/api/v1/models")),
        (409, admin.delete(f"/api/v1/models/{model.pk}")),
        (412, send(admin, "patch", f"/api/v1/models/{model.pk}", {}, **{"If-Match": '"7"'})),
        (415, admin.post("/api/v1/models", data="x", content_type="text/plain")),
        (200, APIClient().get("/healthz")),
        (200, APIClient().get("/admin/login/")),
    ]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    responses.append((413, send(admin, "post", "/api/v1/models", {"name": "too-big", "provider": "openai"})))

    assert [response.status_code for _, response in responses] == [status for status, _ in responses]
    assert all(GENERATED_REQUEST_ID.match(response["X-Request-ID"]) for _, response in responses)
    assert len({response["X-Request-ID"] for _, response in responses}) == len(responses)


# --- Odd input is never a 500 -------------------------------------------------------


def odd_input_id(value) -> str:
    # No square brackets or backslashes: pytest cannot select a test whose id has them by its
    # node id (mutmut runs the tests that reach a mutant that way, docs/mutation.md).
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("[", "(").replace("]", ")").replace("\\", "~")
    return text if len(text) <= 60 else text[:57] + "..."


NESTED_50 = {"a": None}
for _ in range(50):
    NESTED_50 = {"a": NESTED_50}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("get", "/api/v1/models/abc", None, 404),
        ("get", f"/api/v1/models/{10**30}", None, 404),
        ("get", f"/api/v1/models/{10**30}/history", None, 404),
        ("delete", f"/api/v1/models/{{id}}/dependencies/{10**30}", None, 404),
        ("get", f"/api/v1/providers/{10**30}", None, 404),
        ("post", "/api/v1/models/bulk", {"action": "activate", "ids": ["{id}"]}, 200),
        ("post", "/api/v1/models/bulk", {"action": "activate", "ids": ["1", "x"]}, 400),
        ("post", "/api/v1/models/bulk", {"action": "activate", "ids": [True]}, 400),
        ("post", "/api/v1/models/bulk", {"action": "activate", "ids": [-1]}, 200),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "context_window": 10**30}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "max_output_tokens": -(10**30)}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "input_cost_per_million_tokens": 10**30}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "input_cost_per_million_tokens": "1e400"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "input_cost_per_million_tokens": "NaN"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "successor": 10**30}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": ["openai"]}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": {"slug": "openai"}}, 400),
        ("post", "/api/v1/models", {"name": ["x"], "provider": "openai"}, 400),
        ("post", "/api/v1/models", {"name": "x\x00y", "provider": "openai"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "open\x00ai"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "successor": "gpt\x00"}, 400),
        (
            "post",
            "/api/v1/models",
            {"name": "x", "provider": "openai", "industries": [{"industry": "re\x00tail"}]},
            400,
        ),
        ("patch", "/api/v1/models/{id}", {"provider": "open\x00ai"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "display_name": "a\x00"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "description": "\x00"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "aliases": ["a\x00"]}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "metadata": {"k\x00": 1}}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "metadata": {"k": ["v\x00"]}}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "metadata": NESTED_50}, 201),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "metadata": "x"}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "industries": {"industry": "retail"}}, 400),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "industries": [None]}, 400),
        (
            "post",
            "/api/v1/models",
            {"name": "x", "provider": "openai", "industries": [{"industry": "retail", "settings": {"\x00": 1}}]},
            400,
        ),
        ("post", "/api/v1/models", {"name": "x", "provider": "openai", "deprecation_date": "99999-01-01"}, 400),
        (
            "post",
            "/api/v1/models",
            {
                "name": "x",
                "provider": "openai",
                "industries": [{"industry": "education", "settings": {"minimum_user_age": 10**30}}],
            },
            400,
        ),
        ("post", "/api/v1/models", [], 400),
        ("post", "/api/v1/models", "x", 400),
        ("post", "/api/v1/models", 5, 400),
        ("post", "/api/v1/models", None, 400),
        ("post", "/api/v1/models", b"\xff\xfe", 400),
        ("patch", "/api/v1/models/{id}", [], 400),
        ("put", "/api/v1/models/{id}", "x", 400),
        ("patch", "/api/v1/models/{id}", {"name": "x\x00"}, 400),
        ("patch", "/api/v1/models/{id}", {"id": 5, "created_by": "mallory"}, 200),
        ("post", "/api/v1/models/{id}/dependencies", [], 400),
        ("post", "/api/v1/models/{id}/dependencies", {"component_type": "agent", "component_id": "a\x00"}, 400),
        ("post", "/api/v1/models/bulk", [], 400),
        ("post", "/api/v1/models/bulk", "delete", 400),
        ("post", "/api/v1/providers", [], 400),
        ("post", "/api/v1/providers", {"slug": "ok", "name": "x\x00"}, 400),
        ("get", "/api/v1/models?search=a%00b", None, 400),
        ("get", "/api/v1/models?name=a%00b", None, 400),
        ("get", "/api/v1/models?min_context_window=" + "9" * 400, None, 400),
        ("get", "/api/v1/models?min_context_window=1e400", None, 400),
        ("get", "/api/v1/models?max_input_cost=NaN", None, 400),
        ("get", "/api/v1/models?page=" + "9" * 40, None, 404),
        ("get", "/api/v1/models?page_size=" + "9" * 40, None, 200),
        ("get", "/api/v1/models?name=" + "x" * 5000, None, 200),
        ("get", "/api/v1/models?search=" + "x" * 5000, None, 200),
        ("get", "/api/v1/models/options?industry=%00", None, 400),
        ("get", "/api/v1/audit?user=%00", None, 400),
        ("get", "/api/v1/audit?object_id=" + "9" * 100, None, 200),
    ],
    ids=odd_input_id,
)
def test_odd_input_gets_a_clean_answer(api_as, openai, method, path, body, expected):
    model = AIModelFactory(name="target", provider=openai)
    path = path.replace("{id}", str(model.pk))
    if isinstance(body, dict) and body.get("ids") == ["{id}"]:
        body = {**body, "ids": [str(model.pk)]}
    client = api_as("admin")

    if body is None and method == "get":
        response = client.get(path)
    else:
        response = send(client, method, path, body if body is not None else "null")

    assert response.status_code == expected, response.content[:300]


# --- Product bugs found by these tests (each fails until fixed) ---------------------


def test_a_body_nested_deeper_than_the_parser_recurses_is_a_400(api_as, openai):
    deep = '{"name": "x", "provider": "openai", "metadata": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    client = api_as("editor")

    response = send(client, "post", "/api/v1/models", deep)

    assert response.status_code == 400
    assert not AIModel.objects.exists()


def test_metadata_too_deep_to_render_is_refused_rather_than_stored(api_as, openai):
    nested = {}
    for _ in range(300):
        nested = {"a": nested}
    client = api_as("editor")

    response = send(client, "post", "/api/v1/models", {"name": "deep", "provider": "openai", "metadata": nested})
    listing = client.get("/api/v1/models")

    assert response.status_code == 400
    assert set(response.json()) == {"metadata"}
    assert listing.status_code == 200


@pytest.mark.parametrize("number", ["1" + "0" * 30, "-" + "9" * 25, "1e308"])
def test_metadata_numbers_beyond_64_bits_are_refused_rather_than_stored(api_as, openai, number):
    client = api_as("editor")

    response = send(
        client, "post", "/api/v1/models", '{"name": "big", "provider": "openai", "metadata": {"n": ' + number + "}}"
    )
    listing = client.get("/api/v1/models")

    assert response.status_code in (201, 400)
    assert listing.status_code == 200


def test_bulk_ids_beyond_64_bits_are_a_400(api_as, openai):
    client = api_as("admin")

    response = send(client, "post", "/api/v1/models/bulk", {"action": "activate", "ids": [10**30]})

    assert response.status_code == 400
    assert set(response.json()) == {"ids"}


def test_a_huge_max_input_cost_selects_everything_priced(api_as, openai):
    priced = AIModelFactory(name="priced", provider=openai, input_cost_per_million_tokens=Decimal("999999"))
    AIModelFactory(name="unpriced", provider=openai)
    client = api_as("viewer")

    response = client.get("/api/v1/models", {"max_input_cost": "1000000000"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [priced.pk]


def test_max_input_cost_with_more_than_ten_places_does_not_round_up(api_as, openai):
    AIModelFactory(name="tiny", provider=openai, input_cost_per_million_tokens=Decimal("0.0000000001"))
    free = AIModelFactory(name="free", provider=openai, input_cost_per_million_tokens=Decimal(0))

    response = api_as("viewer").get("/api/v1/models", {"max_input_cost": "0.00000000006"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [free.pk]


def test_a_fractional_min_context_window_is_a_400_not_truncated(api_as, openai):
    # docs/contract.md: min_context_window=<int>. Today 128000.5 is truncated to 128000 and selects
    # a model whose window is below the bound.
    AIModelFactory(name="m", provider=openai, context_window=128_000)

    response = api_as("viewer").get("/api/v1/models", {"min_context_window": "128000.5"})

    assert response.status_code == 400
    assert set(response.json()) == {"min_context_window"}


def test_has_dependencies_with_a_value_that_is_not_a_boolean_is_a_400(api_as, openai):
    AIModelFactory(name="m", provider=openai)

    response = api_as("viewer").get("/api/v1/models", {"has_dependencies": "maybe"})

    assert response.status_code == 400
    assert set(response.json()) == {"has_dependencies"}


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/api/v1/models", "updated_since", "0001-01-01T00:00:00+14:00"),
        ("/api/v1/models", "updated_since", "9999-12-31T23:59:59-14:00"),
        ("/api/v1/audit", "since", "0001-01-01T00:00:00+14:00"),
        ("/api/v1/audit", "until", "9999-12-31T23:59:59-14:00"),
    ],
)
def test_a_date_at_the_edge_of_the_calendar_gets_a_clean_answer(api_as, openai, path, parameter, value):
    AIModelFactory(name="m", provider=openai)
    client = api_as("admin")

    response = client.get(path, {parameter: value})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()) == {parameter}


def test_search_does_not_match_the_json_syntax_of_aliases_and_capabilities(api_as, openai):
    AIModelFactory(name="plain", provider=openai, capabilities=["vision", "streaming"], aliases=["p1", "p2"])

    results = {
        text: api_as("viewer").get("/api/v1/models", {"search": text}).json()["count"]
        for text in ["[", "]", '"', ", ", '", "']
    }

    assert results == {"[": 0, "]": 0, '"': 0, ", ": 0, '", "': 0}


def test_search_ignores_case_beyond_ascii(api_as, openai):
    AIModelFactory(name="resume", display_name="Résumé writer", provider=openai, description="Ünïcode")
    client = api_as("viewer")

    found = [client.get("/api/v1/models", {"search": text}).json()["count"] for text in ["RÉSUMÉ", "ünïcode", "Résumé"]]

    assert found == [1, 1, 1]


# --- Query counts -------------------------------------------------------------------


def seed_for_reads(count: int) -> AIModel:
    """`count` active chat models of one provider with the vision capability, a healthcare
    profile, a dependency and their names indexed; returns the first."""
    provider = ProviderFactory(slug="openai", name="OpenAI")
    models = bulk_models(
        count,
        provider,
        display_name="GPT bulk",
        capabilities=["vision"],
        context_window=128_000,
        input_cost_per_million_tokens=Decimal("2.5"),
        aliases=[],
    )
    healthcare = Industry.objects.get(slug="healthcare")
    ModelIndustryProfile.objects.bulk_create(
        [ModelIndustryProfile(model=m, industry=healthcare, settings={"phi_allowed": True}) for m in models]
    )
    ModelDependency.objects.bulk_create(
        [ModelDependency(model=m, component_type="agent", component_id=f"a{m.pk}") for m in models]
    )
    RegisteredName.objects.bulk_create([RegisteredName(name=m.name, model=m) for m in models])
    return models[0]


@pytest.fixture
def warm_viewer(api_as):
    """A viewer whose token has been used once (the first use records last_used_at)."""
    client = api_as("viewer")
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/providers").status_code == 200
    return client


# token + permissions (2) + count + the page's ids + their rows (profiles included)
LIST_QUERIES = 6
FILTERS = {
    "status": "active",
    "provider": "openai",
    "model_type": "chat",
    "capability": "vision",
    "industry": "healthcare",
    "min_context_window": "1000",
    "max_input_cost": "10",
    "search": "gpt",
    "has_dependencies": "true",
    "updated_since": "2000-01-01T00:00:00Z",
    "ordering": "-context_window,name",
}


@pytest.mark.parametrize("count", [10, 500])
@pytest.mark.parametrize(
    ("params", "selected"),
    [({}, "all"), (FILTERS, "all"), ({"name": "BULK-0003"}, 1), ({"search": "nothing-matches"}, 0)],
    ids=["unfiltered", "filtered", "by-name", "no-match"],
)
def test_the_list_makes_the_same_queries_for_10_and_500_models(
    warm_viewer, django_assert_num_queries, count, params, selected
):
    seed_for_reads(count)
    queries = LIST_QUERIES if selected else LIST_QUERIES - 2
    queries += "search" in params  # the providers whose folded slug or name holds the text
    queries += "provider" in params  # the named providers' ids, so the models are filtered by id

    with django_assert_num_queries(queries):
        response = warm_viewer.get("/api/v1/models", {"page_size": 500, **params})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == (count if selected == "all" else selected)
    assert len(body["results"]) == body["count"]
    assert all(row["dependency_count"] == 1 and len(row["industries"]) == 1 for row in body["results"])


@pytest.mark.parametrize("count", [10, 500])
def test_retrieve_makes_a_fixed_number_of_queries(warm_viewer, django_assert_num_queries, count):
    first = seed_for_reads(count)

    with django_assert_num_queries(4):  # token + permissions (2) + the row, its profiles included
        response = warm_viewer.get(f"/api/v1/models/{first.pk}")

    assert response.json()["name"] == "bulk-0000"


@pytest.mark.parametrize("count", [10, 500])
@pytest.mark.parametrize("params", [{}, {"capability": "vision", "industry": "healthcare", "model_type": "chat"}])
def test_options_make_a_fixed_number_of_queries_cold_and_fewer_warm(
    warm_viewer, django_assert_num_queries, count, params
):
    seed_for_reads(count)

    with django_assert_num_queries(5):  # token + permissions (2) + catalog version + the options
        cold = warm_viewer.get("/api/v1/models/options", params)
    with django_assert_num_queries(4):  # served from the cache
        warm = warm_viewer.get("/api/v1/models/options", params)

    assert len(cold.json()) == count
    assert warm.json() == cold.json()
    assert warm["ETag"] == cold["ETag"]


def test_a_slug_filter_value_with_a_percent_sign_is_a_400_naming_it(api_as):
    response = api_as("viewer").get("/api/v1/models", {"industry": "\x88%\x8f", "provider": "50%"})

    assert response.status_code == 400
    assert set(response.json()) == {"industry", "provider"}
    assert "'50%' is not a valid slug." in response.json()["provider"]
