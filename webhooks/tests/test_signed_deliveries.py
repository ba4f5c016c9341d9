"""A delivery is a POST of `{"type", "timestamp", "data": <event>}` signed per Standard
Webhooks, which its reference library verifies (docs/contract.md §7); a test event is one
of type `webhook.test`; every attempt is listed at .../deliveries."""

import datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from audit.events import event_of
from audit.models import AuditEntry, AuditLink
from models_registry.choices import ModelStatus
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory
from webhooks.deliveries import send_due
from webhooks.dispatch import dispatch_events
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db


def test_a_change_arrives_signed_and_the_reference_library_verifies_it(receiver, transport):
    model = AIModelFactory(name="gpt-4o")
    subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)

    aimodel_update(model=model, actor=None, status=ModelStatus.DEPRECATED, reason="retired")
    dispatch_events()
    send_due(transport)

    [received] = receiver.wait_for(1)
    payload = Webhook(secret).verify(received.body, received.headers)
    entry = AuditEntry.objects.get(event_type="model.deprecated")
    event = event_of(entry, AuditLink.objects.get(entry_id=entry.pk))
    assert payload == {"type": "model.deprecated", "timestamp": event["occurred_at"], "data": event}
    assert payload["data"]["changes"]["status"] == {"old": "active", "new": "deprecated"}
    assert payload["data"]["reason"] == "retired"
    assert received.headers["webhook-id"] == event["id"] == f"evt_{entry.pk}"
    now = datetime.datetime.now(datetime.UTC).timestamp()
    assert abs(int(received.headers["webhook-timestamp"]) - now) < 60
    assert received.headers["content-type"] == "application/json"
    assert subscription.deliveries.get().state == "delivered"


def test_a_tampered_body_or_another_secret_does_not_verify(receiver, transport):
    _subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
    _other, other_secret = subscription_create(actor=None, name="other", url=receiver.url + "?other")
    AIModelFactory()
    dispatch_events()
    send_due(transport)

    received = next(r for r in receiver.wait_for(4) if r.path == "/hook")

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(received.body.replace(b"model", b"modal"), received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(received.body, received.headers)


def test_the_test_event_is_sent_at_once_and_listed_with_every_attempt(api, receiver, transport):
    AIModelFactory()
    change = AuditEntry.objects.latest("pk")
    created = api.post("/api/v1/webhooks", {"name": "s", "url": receiver.url}, format="json").json()
    receiver.status = 503

    failed = api.post(f"/api/v1/webhooks/{created['id']}/test")
    receiver.status = 204
    passed = api.post(f"/api/v1/webhooks/{created['id']}/test")

    first, second = receiver.wait_for(2)
    payload = Webhook(created["secret"]).verify(second.body, second.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["type"] == "webhook.test"
    assert payload["data"]["object"] == {"type": "webhooksubscription", "id": str(created["id"]), "name": "s"}
    assert set(payload["data"]) == set(event_of(change, AuditLink.objects.get(entry_id=change.pk)))  # one shape
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert failed.status_code == passed.status_code == 200
    assert (failed.json()["status_code"], failed.json()["error"]) == (503, "Answered 503")
    assert (passed.json()["status_code"], passed.json()["error"]) == (204, "")
    attempts = api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
    assert attempts["count"] == 2
    newest = attempts["results"][0]
    assert set(newest) >= {"event_id", "attempt", "status_code", "duration_ms", "error", "at"}
    assert (newest["event_id"], newest["attempt"], newest["status_code"]) == (second.headers["webhook-id"], 1, 204)
    assert newest["duration_ms"] >= 0
    # A test that failed is not retried by the workers.
    assert send_due(transport) == 0


def test_every_attempt_of_one_event_has_the_same_id_and_body_and_its_own_signature(receiver, transport):
    subscription, secret = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    delivery = subscription.deliveries.order_by("pk").first()
    receiver.status = 500
    send_due(transport)
    subscription.deliveries.update(next_attempt_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    receiver.status = 200

    send_due(transport)

    tries = [r for r in receiver.wait_for(4) if r.headers["webhook-id"] == delivery.event_id]
    assert len(tries) == 2
    assert tries[0].body == tries[1].body
    for received in tries:
        Webhook(secret).verify(received.body, received.headers)
    numbers = list(delivery.attempt_records.order_by("number").values_list("number", "status_code"))
    assert numbers == [(1, 500), (2, 200)]
