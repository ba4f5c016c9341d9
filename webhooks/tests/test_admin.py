"""Webhooks in the admin: subscriptions made with the secret shown once, filters by name,
"send test event", "replay from a cursor", every attempt on a delivery's page and
"redeliver"; pages refused (403, logged) to staff whose role lacks the right."""

import re

import pytest
from django.test import Client

from audit.models import AuditEntry, SecurityEvent
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from webhooks.deliveries import send_due
from webhooks.dispatch import dispatch_events
from webhooks.encryption import decrypt_secret
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/webhooks/webhooksubscription/"


@pytest.fixture
def staff(make_user):
    def signed_in(role):
        client = Client(raise_request_exception=False)
        client.force_login(make_user(role, is_staff=True))
        return client

    return signed_in


def test_an_administrator_adds_a_subscription_and_sees_its_secret_once(staff, receiver):
    ProviderFactory(slug="acme")
    AIModelFactory(name="gpt-4o")
    admin = staff("admin")

    page = admin.post(
        f"{CHANGELIST}add/",
        {"name": "billing", "url": receiver.url, "types": ["model.deprecated", "model.deleted"],
         "providers": "acme", "aimodels": "GPT-4O", "dependent": "", "active": "on"},
    )  # fmt: skip

    assert page.status_code == 200, page.content[:2000]
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', page.content.decode()).group(1)
    subscription = WebhookSubscription.objects.get()
    assert decrypt_secret(subscription.secret) == secret
    assert subscription.types == ["model.deprecated", "model.deleted"]
    assert [pair["name"] for pair in subscription.providers] == ["acme"]
    assert [pair["name"] for pair in subscription.aimodels] == ["gpt-4o"]
    entry = AuditEntry.objects.get(object_type="webhooksubscription")
    assert (entry.action, entry.source) == ("create", "admin")
    change_page = admin.get(f"{CHANGELIST}{subscription.pk}/change/").content.decode()
    assert secret not in change_page
    assert 'value="acme"' in change_page and 'value="gpt-4o"' in change_page


def test_an_unknown_provider_or_a_private_address_is_a_form_error(staff, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    admin = staff("admin")

    page = admin.post(f"{CHANGELIST}add/", {"name": "x", "url": "http://127.0.0.1/x", "providers": "nope"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "No provider has the slug &#x27;nope&#x27;" in text and "not a public address" in text
    assert not WebhookSubscription.objects.exists()


def test_send_test_event_and_replay_from_a_cursor(staff, receiver):
    subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    admin = staff("admin")

    tested = admin.post(CHANGELIST, {"action": "send_test", "_selected_action": [subscription.pk]}, follow=True)
    asked = admin.post(CHANGELIST, {"action": "replay", "_selected_action": [subscription.pk]})
    replayed = admin.post(
        CHANGELIST, {"action": "replay", "_selected_action": [subscription.pk], "after": "0"}, follow=True
    )

    assert "answered 200" in tested.content.decode()
    assert receiver.wait_for(1)[0].headers["webhook-id"].startswith("evt_test_")
    assert 'name="after"' in asked.content.decode()
    assert "2 events owed again after cursor 0" in replayed.content.decode()


def test_a_deliverys_page_shows_every_attempt_and_redeliver_sends_it_again(staff, receiver, transport):
    _subscription, _ = subscription_create(actor=None, name="s", url=receiver.url)
    AIModelFactory()
    dispatch_events()
    receiver.status = 502
    send_due(transport)
    delivery = WebhookDelivery.objects.order_by("pk").first()
    admin = staff("admin")

    page = admin.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    redelivered = admin.post(
        "/admin/webhooks/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )

    assert "Answered 502" in page and "not now" in page  # the error and the response's start
    assert "1 deliveries will be sent again" in redelivered.content.decode()
    assert WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at <= delivery.next_attempt_at


@pytest.mark.parametrize("role", ["viewer", "editor"])
@pytest.mark.parametrize(
    "page", [CHANGELIST, f"{CHANGELIST}add/", "/admin/webhooks/webhookdelivery/", "{subscription}"]
)
def test_viewers_and_editors_are_refused_webhook_pages_and_the_refusal_is_logged(staff, role, page):
    subscription, _ = subscription_create(actor=None, name="s", url="https://hooks.example.com/x")
    client = staff(role)

    response = client.get(page.format(subscription=f"{CHANGELIST}{subscription.pk}/change/"))

    assert response.status_code == 403
    assert SecurityEvent.objects.filter(event="permission_denied").count() == 1
