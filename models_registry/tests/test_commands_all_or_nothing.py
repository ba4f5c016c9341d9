"""Commands that change several objects change all of them or none (issue 10, item 14):
`set_model_status` goes through the bulk service the API and the admin use; the others
run in one transaction, with their arguments checked before anything is written."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.models import ServiceToken
from accounts.services import api_token_create
from audit.models import AuditEntry, SecurityEvent
from models_registry.management.commands import load_starter_catalog
from models_registry.models import AIModel, Provider
from models_registry.tests.factories import AIModelFactory
from models_registry.tests.test_commands import fail, registry_counts, run

pytestmark = pytest.mark.django_db
HistoricalAIModel = AIModel.history.model


def statuses() -> dict[str, str]:
    return dict(AIModel.objects.values_list("name", "status"))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("ghost", "ghost: no model has this name or alias"),
        ("not a name!", "'not a name!': not a model name (letters, digits and . _ : / @ + - only)"),
        ("gpt\x00b", "'gpt\\x00b': not a model name (letters, digits and . _ : / @ + - only)"),
    ],
)
@pytest.mark.parametrize("bad_first", [False, True])
def test_set_model_status_with_one_bad_name_changes_nothing_exit_1(bad, message, bad_first):
    AIModelFactory(name="gpt-a")
    AIModelFactory(name="gpt-b")
    before, history = registry_counts(), HistoricalAIModel.objects.count()
    names = [bad, "gpt-a"] if bad_first else ["gpt-a", bad, "GPT-B"]

    error, out, _ = fail("set_model_status", *names, "--status", "deprecated")

    assert (error.returncode, str(error)) == (1, f"Nothing changed:\n  {message}")
    assert out == ""
    assert statuses() == {"gpt-a": "active", "gpt-b": "active"}
    assert registry_counts() == before
    assert HistoricalAIModel.objects.count() == history


def test_set_model_status_names_every_bad_name():
    AIModelFactory(name="gpt-a")

    error, _, _ = fail("set_model_status", "ghost", "gpt-a", "phantom", "--status", "inactive")

    assert (
        str(error)
        == "Nothing changed:\n  ghost: no model has this name or alias\n  phantom: no model has this name or alias"
    )
    assert statuses() == {"gpt-a": "active"}


def test_set_model_status_changes_what_the_bulk_api_changes():
    """The attack: `b` no longer passes validation (a rule added after it was stored; here
    an alias written past validation). The command used to deprecate `a`, then stop on `b`
    with a ValidationError traceback. A status change, from every door, now goes through
    the bulk service, which changes the status alone: both are deprecated, by both doors."""
    a, b = AIModelFactory(name="gpt-a"), AIModelFactory(name="gpt-b")
    AIModel.objects.filter(pk=b.pk).update(aliases=["not a name!"])
    before = AuditEntry.objects.count()

    out, _ = run("set_model_status", "gpt-a", "gpt-b", "--status", "deprecated")

    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert out == "gpt-a: active -> deprecated\ngpt-b: active -> deprecated\n"
    assert statuses() == {"gpt-a": "deprecated", "gpt-b": "deprecated"}
    assert sorted((e.object_repr, e.source) for e in entries) == [("gpt-a", "cli"), ("gpt-b", "cli")]
    assert len({e.request_id for e in entries}) == 1

    user = get_user_model().objects.create_superuser("root", password="x")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user)[1]}")
    response = api.post("/api/v1/models/bulk", {"action": "activate", "ids": [a.pk, b.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert statuses() == {"gpt-a": "active", "gpt-b": "active"}


def test_set_model_status_with_all_good_names_writes_one_entry_per_changed_model_and_one_request_id():
    AIModelFactory(name="gpt-a", aliases=["gpt-a-latest"])
    AIModelFactory(name="gpt-b")
    AIModelFactory(name="gpt-c", status="inactive")
    before = AuditEntry.objects.count()

    out, _ = run("set_model_status", "gpt-a", "GPT-A-LATEST", "gpt-b", "gpt-c", "--status", "inactive")

    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert out == "gpt-a: active -> inactive\ngpt-b: active -> inactive\ngpt-c: already inactive\n"
    assert sorted(e.object_repr for e in entries) == ["gpt-a", "gpt-b"]
    assert len({e.request_id for e in entries}) == 1
    assert {e.source for e in entries} == {"cli"}


def test_load_starter_catalog_that_is_refused_leaves_no_provider_behind(tmp_path, monkeypatch):
    catalog = {
        "providers": [{"slug": "newcorp", "name": "New Corp"}],
        "models": [
            {"name": "fine-1", "provider": "newcorp"},
            {"name": "bad name!", "provider": "newcorp"},
        ],
    }
    path = tmp_path / "starter.json"
    path.write_text(json.dumps(catalog))
    monkeypatch.setattr(load_starter_catalog, "STARTER_CATALOG", path)
    before = registry_counts()

    error, _, _ = fail("load_starter_catalog")

    assert error.returncode == 1
    assert "bad name!" in str(error) or "row 2" in str(error)
    assert not Provider.objects.filter(slug="newcorp").exists()
    assert registry_counts() == before


def test_create_service_account_with_a_bad_expiry_creates_nothing():
    error, _, _ = fail("create_service_account", "billing-bot", "--role", "viewer", "--expires-in-days", "0")

    assert error.returncode == 2
    assert not get_user_model().objects.filter(username="billing-bot").exists()
    assert not ServiceToken.objects.exists()


def test_revoke_api_tokens_revokes_all_or_none(make_user, monkeypatch):
    user = make_user("viewer", username="reader")
    for _ in range(3):
        api_token_create(user=user)
    logged = []

    def log_then_fail(event, **kwargs):
        if logged:
            raise RuntimeError("the security log is unavailable")
        logged.append(event)
        SecurityEvent.objects.create(event=event, username=user.username)

    monkeypatch.setattr("accounts.services.record_security_event", log_then_fail)

    with pytest.raises(RuntimeError):
        run("revoke_api_tokens", "reader")

    assert ServiceToken.objects.filter(user=user).count() == 3
    assert not SecurityEvent.objects.filter(event="token_revoked").exists()
