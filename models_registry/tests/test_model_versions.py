"""A model's version (its ETag, the admin's edit-conflict check) covers the model and its
parts: a change to its industry profiles or aliases alone moves it, through every door
(API, admin, import), so If-Match and If-None-Match mean what they say (issue 10, item 2)."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.models import AuditEntry
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, ModelIndustryProfile
from models_registry.selectors import aimodel_seen_entry
from models_registry.services import StaleVersionError, aimodel_update
from models_registry.tests.admin_pages import (
    PROFILES,
    change_url,
    form_errors,
    form_fields,
    page_of,
    post_data,
    signed_in,
    staff,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile
from models_registry.tests.test_concurrency import run_together

FORM_ID = "aimodel_form"


def api_client(make_user, role: str = "editor") -> APIClient:
    _, key = api_token_create(user=make_user(role))
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def patch(client, model: AIModel, body: dict, **headers):
    return client.patch(
        f"/api/v1/models/{model.pk}", data=json.dumps(body), content_type="application/json", headers=headers
    )


def stored_profiles(model: AIModel) -> list[tuple[str, bool, dict]]:
    rows = ModelIndustryProfile.objects.filter(model=model).select_related("industry").order_by("industry__slug")
    return [(row.industry.slug, row.enabled, row.settings) for row in rows]


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def general(notes: str) -> list[dict]:
    return [{"industry": "general", "enabled": True, "settings": {"notes": notes}}]


# --- The API ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_patch_of_only_industries_moves_the_version_and_the_etag(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    client = api_client(make_user)
    tag = client.get(f"/api/v1/models/{model.pk}")["ETag"]

    response = patch(client, model, {"industries": general("second")}, **{"If-Match": tag})

    assert response.status_code == 200, response.content
    assert response["ETag"] != tag
    assert response["ETag"] == client.get(f"/api/v1/models/{model.pk}")["ETag"] == '"2"'
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert stored_profiles(model) == [("general", True, {"notes": "second"})]


@pytest.mark.django_db
def test_a_second_patch_with_the_old_if_match_is_a_412_and_changes_nothing(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    alice, bob = api_client(make_user), api_client(make_user)
    tag = alice.get(f"/api/v1/models/{model.pk}")["ETag"]
    assert patch(alice, model, {"industries": general("alice")}, **{"If-Match": tag}).status_code == 200
    mark = last_entry_id()

    response = patch(bob, model, {"industries": general("bob")}, **{"If-Match": tag})

    assert response.status_code == 412, response.content
    assert stored_profiles(model) == [("general", True, {"notes": "alice"})]
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert last_entry_id() == mark


@pytest.mark.django_db
def test_if_none_match_with_the_tag_from_before_a_profile_change_gets_the_new_body(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    client = api_client(make_user)
    old_tag = client.get(f"/api/v1/models/{model.pk}")["ETag"]
    patch(client, model, {"industries": [{"industry": "retail", "enabled": False}]})

    response = client.get(f"/api/v1/models/{model.pk}", headers={"If-None-Match": old_tag})

    assert response.status_code == 200
    assert response["ETag"] != old_tag
    assert response.json()["industries"] == [{"industry": "retail", "enabled": False, "settings": {}}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"industries": [{"industry": "general", "enabled": False, "settings": {"notes": "first"}}]},  # enabled only
        {"industries": []},  # a profile removed
        {"industries": [*general("first"), {"industry": "retail"}]},  # a profile added
        {"aliases": ["gpt-x-latest"]},  # an alias
    ],
)
def test_every_change_to_a_part_moves_the_version(make_user, change):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    client = api_client(make_user)
    tag = client.get(f"/api/v1/models/{model.pk}")["ETag"]

    response = patch(client, model, change, **{"If-Match": tag})

    assert response.status_code == 200, response.content
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert patch(client, model, {"display_name": "late"}, **{"If-Match": tag}).status_code == 412


@pytest.mark.django_db
def test_a_profile_only_change_is_audited_once_on_the_profile_and_not_on_the_model(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    history_rows = model.history.count()
    mark = last_entry_id()

    aimodel_update(model=model, actor=make_user("editor"), industries=[profile("general", notes="second")])

    entries = list(AuditEntry.objects.filter(id__gt=mark))
    assert [(e.object_type, e.changes) for e in entries] == [
        ("modelindustryprofile", {"settings": {"old": {"notes": "first"}, "new": {"notes": "second"}}})
    ]
    assert model.history.count() == history_rows
    assert AIModel.objects.get(pk=model.pk).version == 2


@pytest.mark.django_db
def test_an_unchanged_profile_list_leaves_the_version_alone(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    client = api_client(make_user)

    response = patch(client, model, {"industries": general("first")}, **{"If-Match": '"1"'})

    assert response.status_code == 200
    assert response["ETag"] == '"1"'


# --- The importer -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_import_that_changes_only_profiles_moves_the_version():
    provider = ProviderFactory(slug="acme")
    model = AIModelFactory(name="gpt-x", provider=provider, industries=[profile("general", notes="first")])
    other = AIModelFactory(name="gpt-y", provider=provider)
    rows = [
        {"name": "gpt-x", "provider": "acme", "industries": general("imported")},
        {"name": "gpt-y", "provider": "acme"},
    ]
    mark = last_entry_id()

    report = import_models(read_source("models.json", json.dumps(rows).encode(), "json"), actor=None)

    assert report.applied, report.invalid_rows
    assert stored_profiles(model) == [("general", True, {"notes": "imported"})]
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert AIModel.objects.get(pk=other.pk).version == 1  # unchanged
    entries = AuditEntry.objects.filter(id__gt=mark)
    assert [(e.object_type, e.parent_id) for e in entries] == [("modelindustryprofile", str(model.pk))]


# --- The service's refusal ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_update_is_refused_with_the_changes_made_since_the_caller_loaded_the_model():
    model = AIModelFactory(name="gpt-x", display_name="First", industries=[profile("general", notes="first")])
    aimodel_update(model=model, actor=None, display_name="Seen")  # version 2
    seen = aimodel_seen_entry(model.pk)
    aimodel_update(model=model, actor=None, display_name="Unseen")  # version 3
    aimodel_update(model=model, actor=None, industries=[profile("general", notes="unseen")])  # version 4
    mark = last_entry_id()

    with pytest.raises(StaleVersionError) as refused:
        aimodel_update(model=model, actor=None, expected_version=2, seen_entry=seen, display_name="Mine")

    changes = [(entry.object_type, entry.changes) for entry in refused.value.changes]
    assert changes == [
        ("aimodel", {"display_name": {"old": "Seen", "new": "Unseen"}}),
        ("modelindustryprofile", {"settings": {"old": {"notes": "first"}, "new": {"notes": "unseen"}}}),
    ]
    assert refused.value.current.version == 4
    assert (AIModel.objects.get(pk=model.pk).display_name, last_entry_id()) == ("Unseen", mark)


# --- The admin ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_admin_edits_of_the_profiles_from_the_same_version_refuse_the_second():
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    alice, bob = staff("editor"), staff("editor")
    alice_form = form_fields(page_of(signed_in(alice).get(change_url(model.pk))), FORM_ID)
    bob_form = form_fields(page_of(signed_in(bob).get(change_url(model.pk))), FORM_ID)
    alice_form[f"{PROFILES}-0-setting__notes"] = ["from alice"]
    bob_form[f"{PROFILES}-0-setting__notes"] = ["from bob"]

    first = signed_in(alice).post(change_url(model.pk), post_data(alice_form))
    mark = last_entry_id()
    second = signed_in(bob).post(change_url(model.pk), post_data(bob_form))

    assert first.status_code == 302, form_errors(first)
    assert second.status_code == 200
    errors = second.context["adminform"].form.non_field_errors()
    assert any("Someone else saved this model" in error for error in errors)
    # It says what alice changed (the profile's settings), and nothing older.
    theirs = [error for error in errors if alice.username in error]
    assert len(theirs) == 1 and "from alice" in theirs[0] and "general" in theirs[0], errors
    assert stored_profiles(model) == [("general", True, {"notes": "from alice"})]
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert last_entry_id() == mark


@pytest.mark.django_db
def test_a_refusal_after_a_profile_only_version_lists_only_the_newer_change():
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    editor = staff("editor")
    aimodel_update(model=model, actor=editor, industries=[profile("general", notes="seen")])  # version 2
    bob = signed_in(staff("editor"))
    bob_form = form_fields(page_of(bob.get(change_url(model.pk))), FORM_ID)
    aimodel_update(model=model, actor=editor, industries=[profile("general", notes="unseen")])  # version 3
    bob_form["display_name"] = ["Bob's"]

    refused = bob.post(change_url(model.pk), post_data(bob_form))

    errors = refused.context["adminform"].form.non_field_errors()
    theirs = [error for error in errors if editor.username in error]
    assert len(theirs) == 1 and "unseen" in theirs[0], errors
    assert AIModel.objects.get(pk=model.pk).display_name == model.display_name


# --- Concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_profile_patches_with_one_if_match_let_exactly_one_through(make_user):
    model = AIModelFactory(name="gpt-x", industries=[profile("general", notes="first")])
    clients = [api_client(make_user) for _ in range(20)]
    tag = clients[0].get(f"/api/v1/models/{model.pk}")["ETag"]

    responses = run_together(
        *[
            lambda client=client, i=i: patch(client, model, {"industries": general(f"writer {i}")}, **{"If-Match": tag})
            for i, client in enumerate(clients)
        ]
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [200] + [412] * 19, [getattr(r, "content", r) for r in responses]
    [winner] = [response for response in responses if response.status_code == 200]
    assert winner.json()["industries"] == [
        {"industry": "general", "enabled": True, "settings": {"notes": stored_profiles(model)[0][2]["notes"]}}
    ]
    assert stored_profiles(model) == [("general", True, winner.json()["industries"][0]["settings"])]
    assert AIModel.objects.get(pk=model.pk).version == 2
    assert AuditEntry.objects.filter(object_type="modelindustryprofile", action="update").count() == 1
