"""/api/v1/webhooks (docs/contract.md §7): administrators manage subscriptions; the secret is
shown once and stored so that the database alone cannot give it away; every change is
audited; bad input is a field-level 400 that changes nothing; other roles get 403s that
the security log records."""

import pytest
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from accounts.services import api_token_create
from audit.models import AuditEntry, SecurityEvent
from models_registry.services import aimodel_update, dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from webhooks.encryption import decrypt_secret
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/llm"


def client_for(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    _, key = api_token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_an_administrator_subscribes_and_gets_the_secret_once(api):
    ProviderFactory(slug="openai")
    AIModelFactory(name="gpt-4o", aliases=["gpt-4o-latest"])

    created = api.post(
        "/api/v1/webhooks",
        {"name": "billing", "url": URL, "types": ["model.deprecated"], "providers": ["openai"],
         "models": ["GPT-4O-LATEST"], "dependent": "billing-agent"},
        format="json",
    )  # fmt: skip

    assert created.status_code == 201, created.json()
    body = created.json()
    assert created["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # the reference library reads it
    assert {key: body[key] for key in ("name", "url", "types", "providers", "models", "dependent", "active")} == {
        "name": "billing", "url": URL, "types": ["model.deprecated"], "providers": ["openai"], "models": ["gpt-4o"],
        "dependent": "billing-agent", "active": True,
    }  # fmt: skip
    assert body["disabled_reason"] == ""
    again = api.get(f"/api/v1/webhooks/{body['id']}").json()
    listed = api.get("/api/v1/webhooks").json()["results"]
    assert "secret" not in again and all("secret" not in row for row in listed)
    assert again == {key: value for key, value in body.items() if key != "secret"}


def test_the_secret_is_stored_encrypted_not_as_given(api):
    body = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json").json()

    stored = WebhookSubscription.objects.filter(pk=body["id"]).values().get()

    secret = body["secret"]
    assert all(
        secret not in str(value) and secret.removeprefix("whsec_") not in str(value) for value in stored.values()
    )
    assert decrypt_secret(stored["secret"]) == secret
    history = WebhookSubscription.history.filter(id=body["id"]).values().get()
    assert "secret" not in history


def test_every_change_leaves_one_audit_entry_and_no_change_event(api):
    before = AuditEntry.objects.count()
    created = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json", HTTP_X_CHANGE_REASON="ops")
    subscription = created.json()["id"]
    api.patch(f"/api/v1/webhooks/{subscription}", {"active": False, "name": "b"}, format="json")
    api.patch(f"/api/v1/webhooks/{subscription}", {"name": "b"}, format="json")  # no change: no entry
    api.delete(f"/api/v1/webhooks/{subscription}")

    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert [(entry.action, entry.object_type, entry.event_type) for entry in entries] == [
        ("create", "webhooksubscription", ""),
        ("update", "webhooksubscription", ""),
        ("delete", "webhooksubscription", ""),
    ]
    assert entries[0].reason == "ops" and entries[0].source == "api" and entries[0].username.startswith("admin")
    assert entries[1].changes == {"active": {"old": True, "new": False}, "name": {"old": "a", "new": "b"}}
    assert all("secret" not in entry.changes and "cursor" not in entry.changes for entry in entries)
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a", "url": "http://hooks.example.com/x"}, "url"),
        ({"name": "a", "url": "ftp://hooks.example.com/x"}, "url"),
        ({"name": "a", "url": "https://"}, "url"),
        ({"name": "a", "url": "not a url"}, "url"),
        ({"name": "a", "url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"name": "a", "url": "https://10.0.0.5/x"}, "url"),
        ({"name": "a", "url": "https://[::1]/x"}, "url"),
        ({"name": "a", "url": "https://169.254.169.254/latest"}, "url"),
        ({"name": "a", "url": "https://hooks.example.com:99999/x"}, "url"),
        ({"name": "a", "url": 5}, "url"),
        ({"name": "a", "url": URL, "types": ["model.exploded"]}, "types"),
        ({"name": "a", "url": URL, "types": "model.created"}, "types"),
        ({"name": "a", "url": URL, "providers": ["no-such-provider"]}, "providers"),
        ({"name": "a", "url": URL, "providers": [3]}, "providers"),
        ({"name": "a", "url": URL, "models": ["no-such-model"]}, "models"),
        ({"name": "a", "url": URL, "dependent": "x\x00y"}, "dependent"),
        ({"name": " padded", "url": URL}, "name"),
        ({"name": "", "url": URL}, "name"),
        ({"url": URL}, "name"),
        ({"name": "a", "url": URL, "active": "yes"}, "active"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(api, body, field, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_HOSTS = []
    entries = AuditEntry.objects.count()

    response = api.post("/api/v1/webhooks", body, format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()) == {field}
    assert not WebhookSubscription.objects.exists()
    assert AuditEntry.objects.count() == entries


def test_a_bad_patch_changes_nothing(api):
    subscription = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json").json()["id"]

    response = api.patch(f"/api/v1/webhooks/{subscription}", {"name": "b", "types": ["nope"]}, format="json")

    assert response.status_code == 400
    assert WebhookSubscription.objects.get().name == "a"


def test_put_is_not_offered_and_unknown_ids_are_404(api):
    subscription = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json").json()["id"]

    assert api.put(f"/api/v1/webhooks/{subscription}", {"name": "b", "url": URL}, format="json").status_code == 405
    assert api.get("/api/v1/webhooks/999999").status_code == 404
    assert api.get("/api/v1/webhooks/\uff11").status_code == 404
    assert api.post("/api/v1/webhooks/999999/test").status_code == 404
    assert api.get("/api/v1/webhooks/999999/deliveries").status_code == 404


def test_filters_follow_renames_and_keep_what_was_given_for_what_is_gone(api):
    provider = ProviderFactory(slug="acme")
    model = AIModelFactory(name="acme-1", provider=provider)
    subscription = api.post(
        "/api/v1/webhooks", {"name": "a", "url": URL, "providers": ["acme"], "models": ["acme-1"]}, format="json"
    ).json()["id"]

    aimodel_update(model=model, actor=None, name="acme-2")
    renamed = api.get(f"/api/v1/webhooks/{subscription}").json()
    model.delete()

    assert renamed["models"] == ["acme-2"]
    assert api.get(f"/api/v1/webhooks/{subscription}").json()["models"] == ["acme-1"]


def test_turning_a_subscription_back_on_clears_why_it_was_off(api):
    subscription = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json").json()["id"]
    WebhookSubscription.objects.filter(pk=subscription).update(active=False, disabled_reason="kept failing")

    response = api.patch(f"/api/v1/webhooks/{subscription}", {"active": True}, format="json")

    assert (response.json()["active"], response.json()["disabled_reason"]) == (True, "")


ENDPOINTS = [
    ("get", "/api/v1/webhooks", None),
    ("post", "/api/v1/webhooks", {"name": "x", "url": URL}),
    ("get", "/api/v1/webhooks/{id}", None),
    ("patch", "/api/v1/webhooks/{id}", {"name": "y"}),
    ("delete", "/api/v1/webhooks/{id}", None),
    ("post", "/api/v1/webhooks/{id}/test", None),
    ("get", "/api/v1/webhooks/{id}/deliveries", None),
]


@pytest.mark.parametrize("role", ["viewer", "editor", None])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_viewers_and_editors_are_refused_and_the_refusal_is_logged(role, method, path, body, make_user, api):
    subscription = api.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json").json()["id"]
    user = make_user(role)
    client = client_for(user)
    denials = SecurityEvent.objects.filter(event="permission_denied").count()

    response = getattr(client, method)(path.format(id=subscription), body, format="json")

    assert response.status_code == 403
    assert SecurityEvent.objects.filter(event="permission_denied", username=user.username).count() == 1
    assert SecurityEvent.objects.filter(event="permission_denied").count() == denials + 1
    assert WebhookSubscription.objects.get().name == "a"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_anonymous_callers_get_401(method, path, body):
    response = getattr(APIClient(), method)(path.format(id=1), body, format="json")

    assert response.status_code == 401
    assert SecurityEvent.objects.filter(event="permission_denied").count() == 1


def test_a_superuser_may_manage_webhooks(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    client = client_for(root)

    created = client.post("/api/v1/webhooks", {"name": "a", "url": URL}, format="json")

    assert created.status_code == 201
    assert client.get("/api/v1/webhooks").json()["count"] == 1


def test_dependent_takes_any_component_name(api):
    model = AIModelFactory()
    dependency_register(model=model, component_type="agent", component_id="a-1", component_name="Bot", actor=None)

    response = api.post("/api/v1/webhooks", {"name": "a", "url": URL, "dependent": "Bot"}, format="json")

    assert response.json()["dependent"] == "Bot"
