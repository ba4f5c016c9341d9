"""`manage.py webhook_status` shows where each subscription's deliveries stand."""

import io
import json

import pytest
from django.core.management import call_command

from models_registry.tests.factories import AIModelFactory
from webhooks.deliveries import send_due
from webhooks.dispatch import dispatch_events
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db


def status(*args) -> str:
    out = io.StringIO()
    call_command("webhook_status", *args, stdout=out)
    return out.getvalue()


def test_it_counts_what_is_behind_due_retrying_and_done(receiver, transport):
    subscription_create(actor=None, name="failing", url=receiver.url)
    AIModelFactory()  # two events: a provider, a model
    before = json.loads(status("--format", "json"))
    dispatch_events()
    receiver.status = 500
    send_due(transport)
    after = json.loads(status("--format", "json"))

    assert before[0] | {"oldest_pending": None} == {
        "subscription": "failing", "active": True, "behind": 3, "due": 0, "retrying": 0, "delivered": 0,
        "failed": 0, "oldest_pending": None, "last_error": "",
    }  # fmt: skip
    assert (after[0]["behind"], after[0]["due"], after[0]["retrying"], after[0]["last_error"]) == (
        0, 0, 2, "Answered 500",
    )  # fmt: skip
    assert after[0]["oldest_pending"] is not None
    table = status().splitlines()
    assert table[0].split() == ["subscription", "active", "behind", "due", "retrying", "delivered", "failed",
                                "oldest_pending", "last_error"]  # fmt: skip
    assert table[1].startswith("failing")


def test_with_no_subscriptions_it_says_so():
    assert status() == "No webhook subscriptions.\n"
