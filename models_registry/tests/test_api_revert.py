"""Revert and restore through the API (docs/contract.md §7, "Lifecycle"): `POST
/api/v1/audit/{id}/revert` and `POST /api/v1/audit/requests/{request_id}/revert`, for
administrators. Each revert is a new change through the services, recorded with the
source `revert`, a reason naming what it reverts and the request's own id; a field changed
since is a 409 naming it (`force` overrides); reverting a delete restores the model."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry, SecurityEvent
from audit.retention import prune_history
from llm_admin.tests.test_api_schema import conforms
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.services import aimodel_delete, aimodel_restore
from models_registry.services import aimodels as services_aimodels
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db

MISSING_ID = 10**9


@pytest.fixture
def admin(api_as):
    return api_as("admin", username="ada")


@pytest.fixture
def openai():
    return ProviderFactory(slug="openai", name="OpenAI")


def send(client, method: str, path: str, body=None, request_id: str | None = None):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"X-Request-ID": request_id} if request_id else {}
    return getattr(client, method)(path, data=data, content_type="application/json", headers=headers)


def newest(**filters) -> AuditEntry:
    return AuditEntry.objects.filter(**filters).latest("id")


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def revert(client, entry: AuditEntry | int, body=None, request_id: str | None = None):
    pk = entry.pk if isinstance(entry, AuditEntry) else entry
    return send(client, "post", f"/api/v1/audit/{pk}/revert", body if body is not None else {}, request_id)


def revert_request(client, request_id: str, body=None):
    return send(client, "post", f"/api/v1/audit/requests/{request_id}/revert", body if body is not None else {})


# --- One entry: an update ------------------------------------------------------------


def test_reverting_an_update_writes_the_old_values_back_as_a_new_change(admin, openai):
    model = AIModelFactory(name="gpt-4o", provider=openai, display_name="GPT-4o")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Omni", "input_cost_per_million_tokens": "2.5"})
    entry = newest(object_type="aimodel", action="update")
    mark = last_entry_id()

    response = revert(admin, entry, {"reason": "wrong model"}, request_id="undo-1")

    model.refresh_from_db()
    assert response.status_code == 200
    assert (model.display_name, model.input_cost_per_million_tokens) == ("GPT-4o", None)
    [written] = response.json()
    assert written["id"] > mark
    assert written["changes"] == {
        "display_name": {"old": "Omni", "new": "GPT-4o"},
        "input_cost_per_million_tokens": {"old": "2.5", "new": None},
    }
    assert (written["action"], written["object_id"], written["user"]) == ("update", str(model.pk), "ada")
    assert (written["source"], written["reason"]) == ("revert", f"revert of entry {entry.pk}: wrong model")
    assert written["request_id"] == response["X-Request-ID"] == "undo-1"
    assert AuditEntry.objects.get(pk=written["id"]).event_type == "model.updated"


def test_a_reason_is_optional(admin, openai):
    model = AIModelFactory(name="m", provider=openai, status="active")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"status": "deprecated"})
    entry = newest(object_type="aimodel", action="update")

    response = revert(admin, entry)

    assert response.status_code == 200
    assert response.json()[0]["reason"] == f"revert of entry {entry.pk}"
    assert AIModel.objects.get(pk=model.pk).status == "active"


def test_a_related_value_goes_back_by_its_natural_key_and_a_date_and_a_price_by_parsing(admin, openai):
    first, second = AIModelFactory(name="first", provider=openai), AIModelFactory(name="second", provider=openai)
    model = AIModelFactory(
        name="m", provider=openai, successor=first, deprecation_date=datetime.date(2030, 1, 31),
        input_cost_per_million_tokens="0.0046875",
    )  # fmt: skip
    other = ProviderFactory(slug="other")
    send(
        admin,
        "patch",
        f"/api/v1/models/{model.pk}",
        {"successor": "second", "provider": "other", "deprecation_date": None, "input_cost_per_million_tokens": "3"},
    )

    response = revert(admin, newest(object_type="aimodel", action="update"))

    model.refresh_from_db()
    assert response.status_code == 200
    assert (model.successor_id, model.provider_id) == (first.pk, openai.pk)
    assert model.deprecation_date == datetime.date(2030, 1, 31)
    assert model.input_cost_per_million_tokens == Decimal("0.0046875")
    assert second.pk != first.pk and other.pk != openai.pk


def test_a_field_changed_since_is_a_409_naming_it_and_nothing_changes(admin, openai):
    model = AIModelFactory(name="m", provider=openai, display_name="One", context_window=1000)
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two", "context_window": 2000})
    entry = newest(object_type="aimodel", action="update")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Three"})
    mark = last_entry_id()

    response = revert(admin, entry, {"reason": "undo"})

    body = response.json()
    assert response.status_code == 409
    assert set(body) >= {"detail", "conflicts"}
    assert "display_name" in body["detail"]
    assert body["conflicts"] == {
        "display_name": {
            "reverting_to": "One",
            "changed_from": "Two",
            "now": "Three",
            "entry": entry.pk,
            "object": {"type": "aimodel", "id": str(model.pk), "name": "m"},
        }
    }
    assert body["forceable"] is True
    assert last_entry_id() == mark
    assert AIModel.objects.get(pk=model.pk).context_window == 2000


def test_force_writes_the_old_values_over_the_changes_made_since(admin, openai):
    model = AIModelFactory(name="m", provider=openai, display_name="One")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"})
    entry = newest(object_type="aimodel", action="update")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Three"})

    response = revert(admin, entry, {"force": True})

    assert response.status_code == 200
    assert response.json()[0]["changes"] == {"display_name": {"old": "Three", "new": "One"}}
    assert AIModel.objects.get(pk=model.pk).display_name == "One"


def test_a_revert_is_itself_an_entry_that_can_be_reverted(admin, openai):
    model = AIModelFactory(name="m", provider=openai, display_name="One")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"})
    first = revert(admin, newest(object_type="aimodel", action="update")).json()[0]

    again = revert(admin, first["id"])

    assert again.status_code == 200
    assert AIModel.objects.get(pk=model.pk).display_name == "Two"
    assert again.json()[0]["reason"] == f"revert of entry {first['id']}"


def test_a_name_taken_since_is_a_400_naming_the_holder(admin, openai):
    model = AIModelFactory(name="old-name", provider=openai)
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"name": "new-name"})
    entry = newest(object_type="aimodel", action="update")
    holder = AIModelFactory(name="OLD-NAME", provider=openai)

    response = revert(admin, entry)

    assert response.status_code == 400
    assert response.json() == {"name": [f"A model with this name already exists: OLD-NAME (id {holder.pk})."]}
    assert AIModel.objects.get(pk=model.pk).name == "new-name"


def test_an_update_of_a_model_deleted_since_cannot_be_reverted_even_with_force(admin, openai):
    model = AIModelFactory(name="m", provider=openai, display_name="One")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"})
    entry = newest(object_type="aimodel", action="update")
    send(admin, "delete", f"/api/v1/models/{model.pk}")

    response = revert(admin, entry, {"force": True})

    assert response.status_code == 409
    assert response.json()["forceable"] is False
    assert "deleted since" in response.json()["detail"]
    assert response.json()["conflicts"]["display_name"]["now"] is None


# --- One entry: a create, a delete (restore) -----------------------------------------


def test_reverting_a_create_deletes_the_model(admin, openai):
    created = send(admin, "post", "/api/v1/models", {"name": "fresh", "provider": "openai"}).json()
    entry = newest(object_type="aimodel", action="create")

    response = revert(admin, entry)

    assert response.status_code == 200
    assert [(e["action"], e["object_id"]) for e in response.json()] == [("delete", str(created["id"]))]
    assert AuditEntry.objects.get(pk=response.json()[0]["id"]).event_type == "model.deleted"
    assert not AIModel.objects.filter(pk=created["id"]).exists()


def test_reverting_the_create_of_a_model_in_use_is_the_delete_doors_409(admin, openai):
    created = send(admin, "post", "/api/v1/models", {"name": "used", "provider": "openai"}).json()
    entry = newest(object_type="aimodel", action="create")
    dependency = ModelDependencyFactory(model=AIModel.objects.get(pk=created["id"]), component_id="bot")
    mark = last_entry_id()

    response = revert(admin, entry)

    assert response.status_code == 409
    assert response.json()["dependencies"] == [
        {"component_type": "agent", "component_id": "bot", "component_name": dependency.component_name,
         "id": dependency.pk},
    ]  # fmt: skip
    assert AIModel.objects.filter(pk=created["id"]).exists()
    assert last_entry_id() == mark


@pytest.fixture
def deleted_model(admin, openai):
    """A model with a profile, aliases and a successor, deleted through the API."""
    successor = AIModelFactory(name="gpt-5", provider=openai)
    model = AIModelFactory(
        name="gpt-4o", provider=openai, aliases=["gpt-4o-latest"], successor=successor, status="deprecated",
        input_cost_per_million_tokens="2.5", industries=[profile("healthcare", phi_allowed=True)],
    )  # fmt: skip
    version = model.version
    assert send(admin, "delete", f"/api/v1/models/{model.pk}", request_id="deleting").status_code == 204
    return {"id": model.pk, "version": version, "successor": successor, "entry": newest(object_type="aimodel")}


def test_reverting_a_delete_restores_the_model_under_its_id_with_profiles_aliases_and_successor(admin, deleted_model):
    response = revert(admin, deleted_model["entry"], {"reason": "still needed"})

    assert response.status_code == 200
    written = response.json()
    assert [(e["object_type"], e["action"]) for e in written] == [
        ("aimodel", "create"),
        ("modelindustryprofile", "create"),
    ]
    assert {AuditEntry.objects.get(pk=e["id"]).event_type for e in written} == {"model.restored", "model.updated"}
    assert AuditEntry.objects.get(pk=written[0]["id"]).event_type == "model.restored"
    assert {e["reason"] for e in written} == {f"revert of entry {deleted_model['entry'].pk}: still needed"}
    model = admin.get(f"/api/v1/models/{deleted_model['id']}")
    body = model.json()
    assert model.status_code == 200
    assert (body["name"], body["aliases"], body["successor"]) == ("gpt-4o", ["gpt-4o-latest"], "gpt-5")
    assert (body["status"], body["input_cost_per_million_tokens"]) == ("deprecated", "2.5")
    assert body["industries"] == [{"industry": "healthcare", "enabled": True, "settings": {"phi_allowed": True}}]
    assert model["ETag"] != f'"{deleted_model["version"]}"'  # an ETag read before the deletion does not match
    assert admin.get("/api/v1/models", {"name": "gpt-4o-latest"}).json()["count"] == 1


def test_the_change_feed_shows_a_restore_as_model_restored(admin, deleted_model):
    cursor = admin.get("/api/v1/changes", {"limit": 1000}).json()["next"]

    revert(admin, deleted_model["entry"])

    events = admin.get("/api/v1/changes", {"after": cursor}).json()["results"]
    assert [(e["type"], e["source"]) for e in events] == [("model.restored", "revert"), ("model.updated", "revert")]
    assert events[0]["model"] == {"id": deleted_model["id"], "name": "gpt-4o"}


def test_a_restore_whose_name_is_taken_is_a_400_naming_the_holder(admin, deleted_model, openai):
    holder = AIModelFactory(name="GPT-4o", provider=openai)

    response = revert(admin, deleted_model["entry"])

    assert response.status_code == 400
    assert response.json() == {"name": [f"A model with this name already exists: GPT-4o (id {holder.pk})."]}
    assert not AIModel.objects.filter(pk=deleted_model["id"]).exists()


def test_a_restore_whose_alias_is_taken_is_a_400_naming_the_holder(admin, deleted_model, openai):
    AIModelFactory(name="other", provider=openai, aliases=["gpt-4o-latest"])

    response = revert(admin, deleted_model["entry"])

    assert response.status_code == 400
    assert response.json() == {"aliases": ["'gpt-4o-latest' is already a name or alias of other."]}


def test_a_restore_whose_successor_is_gone_leaves_it_empty_and_says_so(admin, deleted_model):
    send(admin, "delete", f"/api/v1/models/{deleted_model['successor'].pk}")

    response = revert(admin, deleted_model["entry"])

    assert response.status_code == 200
    restored = response.json()[0]
    assert "successor" not in restored["changes"]
    assert restored["reason"] == (
        f"revert of entry {deleted_model['entry'].pk}; its successor 'gpt-5' no longer exists: left empty"
    )
    assert AIModel.objects.get(pk=deleted_model["id"]).successor_id is None


def test_a_model_restored_already_cannot_be_restored_again(admin, deleted_model):
    assert revert(admin, deleted_model["entry"]).status_code == 200

    response = revert(admin, deleted_model["entry"], {"force": True})

    assert response.status_code == 409
    assert response.json()["forceable"] is False
    assert "exists again" in response.json()["detail"]


def test_a_restore_that_finds_its_id_taken_when_it_writes_is_refused_not_written_over(monkeypatch, openai):
    """Two restores of one deleted model at once (two administrators reverting the same
    delete): both find the id free while they validate; the one that writes second is
    refused instead of overwriting the first. Played on one connection: the other restore
    runs inside this one's validation (and the refusal rolls it back with this one)."""
    model = AIModelFactory(name="gpt-4o", provider=openai)
    aimodel_delete(model=model, actor=None)
    validate = services_aimodels.validate_aimodel
    racing = ["gpt-4o-other"]

    def restore(name):
        fields = {"name": name, "provider_id": openai.pk, "context_window": 1000}
        return aimodel_restore(model_id=model.pk, fields=fields, version=model.version + 1, actor=None)

    def validate_then_the_other_restore(*args, **kwargs):
        profiles = validate(*args, **kwargs)
        while racing:
            restore(racing.pop())
        return profiles

    monkeypatch.setattr(services_aimodels, "validate_aimodel", validate_then_the_other_restore)

    with pytest.raises(ValidationError) as refused:
        restore("gpt-4o")

    assert refused.value.message_dict == {"name": ["A concurrent change took this name or an alias; please retry."]}


# --- Parts, dependencies, providers and industries -----------------------------------


def test_reverting_a_profile_change_is_a_model_updated_of_its_model(admin, openai):
    model = AIModelFactory(name="m", provider=openai, industries=[profile("healthcare", phi_allowed=False)])
    send(
        admin,
        "patch",
        f"/api/v1/models/{model.pk}",
        {"industries": [{"industry": "healthcare", "settings": {"phi_allowed": True}}, {"industry": "retail"}]},
    )
    added = newest(object_type="modelindustryprofile", action="create")
    changed = newest(object_type="modelindustryprofile", action="update")

    assert revert(admin, changed).status_code == 200
    response = revert(admin, added)

    assert response.status_code == 200
    [removed] = response.json()
    assert (removed["object_type"], removed["action"], removed["parent_id"]) == (
        "modelindustryprofile", "delete", str(model.pk)
    )  # fmt: skip
    assert AuditEntry.objects.get(pk=removed["id"]).event_type == "model.updated"
    assert admin.get(f"/api/v1/models/{model.pk}").json()["industries"] == [
        {"industry": "healthcare", "enabled": True, "settings": {"phi_allowed": False}}
    ]


def test_a_profile_removed_comes_back_when_its_removal_is_reverted(admin, openai):
    model = AIModelFactory(name="m", provider=openai, industries=[profile("retail", enabled=False)])
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"industries": []})

    response = revert(admin, newest(object_type="modelindustryprofile", action="delete"))

    assert response.status_code == 200
    assert admin.get(f"/api/v1/models/{model.pk}").json()["industries"] == [
        {"industry": "retail", "enabled": False, "settings": {}}
    ]


def test_dependency_registrations_and_removals_are_reverted(admin, openai):
    model = AIModelFactory(name="m", provider=openai)
    send(admin, "post", f"/api/v1/models/{model.pk}/dependencies", {"component_type": "agent", "component_id": "a1"})
    registered = newest(object_type="modeldependency", action="create")

    assert revert(admin, registered).status_code == 200
    assert not ModelDependency.objects.filter(model=model).exists()
    removed = newest(object_type="modeldependency", action="delete")
    response = revert(admin, removed)

    assert response.status_code == 200
    assert AuditEntry.objects.get(pk=response.json()[0]["id"]).event_type == "dependency.registered"
    assert list(ModelDependency.objects.filter(model=model).values_list("component_type", "component_id")) == [
        ("agent", "a1")
    ]


def test_providers_and_industries_are_reverted_and_restored_under_their_ids(admin):
    created = send(admin, "post", "/api/v1/providers", {"slug": "acme", "name": "Acme"}).json()
    send(admin, "patch", f"/api/v1/providers/{created['id']}", {"name": "Acme Inc."})
    assert revert(admin, newest(object_type="provider", action="update")).status_code == 200
    assert Provider.objects.get(pk=created["id"]).name == "Acme"
    send(admin, "delete", f"/api/v1/providers/{created['id']}")
    industry = Industry.objects.get(slug="retail")
    send(admin, "delete", f"/api/v1/industries/{industry.pk}")

    restored_provider = revert(admin, newest(object_type="provider", action="delete"))
    restored_industry = revert(admin, newest(object_type="industry", action="delete"))

    assert (restored_provider.status_code, restored_industry.status_code) == (200, 200)
    assert Provider.objects.get(pk=created["id"]).name == "Acme"
    restored = Industry.objects.get(pk=industry.pk)
    assert (restored.slug, restored.settings_schema) == ("retail", industry.settings_schema)


def test_reverting_the_create_of_a_provider_in_use_is_a_409(admin):
    created = send(admin, "post", "/api/v1/providers", {"slug": "acme", "name": "Acme"}).json()
    entry = newest(object_type="provider", action="create")
    AIModelFactory(name="m", provider=Provider.objects.get(pk=created["id"]))

    response = revert(admin, entry)

    assert response.status_code == 409
    assert response.json()["used_by"] == ["m"]


def test_an_entry_that_changed_no_registry_object_is_a_400(admin):
    prune_history(before=timezone.now() - datetime.timedelta(days=1))
    entry = newest(object_type="history")

    response = revert(admin, entry)

    assert response.status_code == 400
    assert "cannot be reverted" in response.json()["non_field_errors"][0]


# --- A whole request -------------------------------------------------------------------


def test_reverting_a_bulk_operation_reverts_every_entry_as_one_change(admin, openai):
    models = [AIModelFactory(name=f"m{i}", provider=openai, status="active") for i in range(3)]
    ids = [model.pk for model in models]
    send(admin, "post", "/api/v1/models/bulk", {"action": "deprecate", "ids": ids}, request_id="bulk-1")

    response = revert_request(admin, "bulk-1", {"reason": "too early"})

    assert response.status_code == 200
    written = response.json()
    assert sorted(int(e["object_id"]) for e in written) == sorted(ids)
    assert {e["request_id"] for e in written} == {response["X-Request-ID"]} != {"bulk-1"}
    assert {e["reason"] for e in written} == {"revert of request bulk-1: too early"}
    assert {e["source"] for e in written} == {"revert"}
    assert set(AIModel.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"active"}


def test_a_request_revert_is_one_change_one_catalog_version_in_the_feed(admin, openai):
    models = [AIModelFactory(name=f"m{i}", provider=openai, industries=[profile("general")]) for i in range(2)]
    send(admin, "post", "/api/v1/models/bulk", {"action": "delete", "ids": [m.pk for m in models]}, request_id="d")
    cursor = admin.get("/api/v1/changes", {"limit": 1000}).json()["next"]

    assert revert_request(admin, "d").status_code == 200

    events = admin.get("/api/v1/changes", {"after": cursor}).json()["results"]
    assert sorted(event["type"] for event in events) == ["model.restored"] * 2 + ["model.updated"] * 2
    assert len({event["catalog_version"] for event in events}) == 1
    assert len({event["request_id"] for event in events}) == 1


def test_the_conflicts_of_every_entry_of_a_request_are_reported_together(admin, openai):
    models = [AIModelFactory(name=f"m{i}", provider=openai, status="active") for i in range(3)]
    ids = [model.pk for model in models]
    send(admin, "post", "/api/v1/models/bulk", {"action": "deprecate", "ids": ids}, request_id="bulk-2")
    send(admin, "patch", f"/api/v1/models/{ids[0]}", {"status": "inactive"})
    send(admin, "patch", f"/api/v1/models/{ids[2]}", {"status": "active"})
    mark = last_entry_id()

    response = revert_request(admin, "bulk-2")

    body = response.json()
    assert response.status_code == 409
    assert set(body["conflicts"]) == {"status"}
    assert sorted((item["object"]["name"], item["conflicts"]["status"]["now"]) for item in body["by_entry"]) == [
        ("m0", "inactive"),
        ("m2", "active"),
    ]
    assert last_entry_id() == mark
    assert AIModel.objects.get(pk=ids[1]).status == "deprecated"


def test_reverting_a_bulk_delete_restores_every_model_each_before_what_names_it(admin, openai):
    # "a" names "z" as successor; newest first would restore "z" last (entries are in name order).
    z = AIModelFactory(name="z", provider=openai)
    a = AIModelFactory(name="a", provider=openai, successor=z, industries=[profile("general")])
    send(admin, "post", "/api/v1/models/bulk", {"action": "delete", "ids": [a.pk, z.pk]}, request_id="del")
    assert not AIModel.objects.exists()

    response = revert_request(admin, "del")

    assert response.status_code == 200
    assert AIModel.objects.get(pk=a.pk).successor_id == z.pk
    assert AIModel.objects.get(pk=a.pk).industry_profiles.count() == 1


def test_reverting_a_request_that_created_models_deletes_them_all(admin, openai):
    z = send(admin, "post", "/api/v1/models", {"name": "z", "provider": "openai"}, request_id="c1").json()
    a = AIModelFactory(name="a", provider=openai)
    send(admin, "patch", f"/api/v1/models/{a.pk}", {"successor": "z"})

    blocked = revert_request(admin, "c1")

    assert blocked.status_code == 409  # "a" names "z": the delete door refuses
    assert blocked.json()["dependencies"][0]["component_type"] == "aimodel.successor"
    assert AIModel.objects.filter(pk=z["id"]).exists()


def test_an_unknown_entry_or_request_is_a_404(admin):
    assert revert(admin, MISSING_ID).status_code == 404
    assert revert_request(admin, "no-such-request").status_code == 404
    assert send(admin, "post", "/api/v1/audit/x1/revert", {}).status_code == 404


# --- Rights and input ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_administrators_revert_others_get_403_in_the_security_log(api_as, admin, openai, role):
    model = AIModelFactory(name="m", provider=openai, display_name="One")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"}, request_id="r-1")
    entry = newest(object_type="aimodel", action="update")
    client = api_as(role)

    one = revert(client, entry, {"force": True})
    many = revert_request(client, "r-1")

    assert (one.status_code, many.status_code) == (403, 403)
    denials = SecurityEvent.objects.filter(event="permission_denied", username=client.user.username)
    assert denials.aggregate(total=Sum("count"))["total"] == 2  # (repeats within a minute are counted in one row)
    assert AIModel.objects.get(pk=model.pk).display_name == "Two"


def test_without_credentials_a_revert_is_a_401(openai):
    model = AIModelFactory(name="m", provider=openai)

    response = APIClient().post(f"/api/v1/audit/{newest(object_id=str(model.pk)).pk}/revert", {}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"force": "yes"}, "force"),
        ({"force": 1}, "force"),
        ({"reason": 5}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "a\x00b"}, "reason"),
        ([], "non_field_errors"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(admin, openai, body, field):
    model = AIModelFactory(name="m", provider=openai)
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"})

    response = revert(admin, newest(object_type="aimodel", action="update"), body)

    assert response.status_code == 400
    assert field in response.json()
    assert AIModel.objects.get(pk=model.pk).display_name == "Two"


def test_a_revert_reads_a_constant_number_of_queries_however_long_the_history(admin, openai):
    def queries_of_a_revert(name: str, updates: int) -> int:
        model = AIModelFactory(name=name, provider=openai)
        for number in range(updates):
            send(admin, "patch", f"/api/v1/models/{model.pk}", {"context_window": 1000 + number})
        entry = newest(object_type="aimodel", object_id=str(model.pk))
        with CaptureQueriesContext(connection) as captured:
            assert revert(admin, entry).status_code == 200
        return len(captured.captured_queries)

    assert queries_of_a_revert("short", 1) == queries_of_a_revert("long", 12)


def test_the_answers_match_the_published_schema(admin, openai):
    document = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = document["paths"]["/api/v1/audit/{id}/revert"]["post"]["responses"]
    model = AIModelFactory(name="m", provider=openai, display_name="One")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Two"})
    entry = newest(object_type="aimodel", action="update")
    send(admin, "patch", f"/api/v1/models/{model.pk}", {"display_name": "Three"})
    created = send(admin, "post", "/api/v1/models", {"name": "used", "provider": "openai"}).json()
    ModelDependencyFactory(model=AIModel.objects.get(pk=created["id"]))

    conflict = revert(admin, entry)
    in_use = revert(admin, newest(object_type="aimodel", action="create"))
    forced = revert(admin, entry, {"force": True})

    for response, status in ((conflict, "409"), (in_use, "409"), (forced, "200")):
        assert str(response.status_code) == status
        conforms(document, operation[status]["content"]["application/json"]["schema"], response.json())


def test_a_bulk_status_change_is_reverted_set_based_in_the_same_queries_for_3_or_30_models(admin, openai):
    def queries_of_a_request_revert(count: int) -> int:
        prefix = f"n{count}"
        ids = [AIModelFactory(name=f"{prefix}-{i}", provider=openai, status="active").pk for i in range(count)]
        send(admin, "post", "/api/v1/models/bulk", {"action": "deprecate", "ids": ids}, request_id=prefix)
        with CaptureQueriesContext(connection) as captured:
            response = revert_request(admin, prefix)
        assert response.status_code == 200
        assert set(AIModel.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"active"}
        assert {e["source"] for e in response.json()} == {"revert"} and len(response.json()) == count
        return len(captured.captured_queries)

    assert queries_of_a_request_revert(3) == queries_of_a_request_revert(30)
