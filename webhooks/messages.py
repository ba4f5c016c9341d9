"""What a delivery sends: Standard Webhooks' body and headers, signed with its reference
library (docs/contract.md §7: `{"type", "timestamp", "data": <event>}` with `webhook-id`,
`webhook-timestamp` and `webhook-signature`)."""

import datetime
import uuid

import orjson
from standardwebhooks.webhooks import Webhook

from audit.events import event_of
from webhooks.choices import TEST_EVENT_TYPE

USER_AGENT = "llm-admin-webhooks/1"


def body_of(event: dict) -> bytes:
    """The body of every attempt at delivering `event`: the same bytes each time."""
    return orjson.dumps({"type": event["type"], "timestamp": event["occurred_at"], "data": event})


def signed_headers(*, secret: str, event_id: str, body: bytes, when: datetime.datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: `webhook-id` is the event's id (the
    same on every attempt, so a consumer can drop repeats), the timestamp and signature
    are the attempt's."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=when, data=body.decode()),
    }


def test_event(subscription, *, actor_name: str, source: str, request_id: str, now: datetime.datetime) -> dict:
    """The event `POST /api/v1/webhooks/{id}/test` sends: shaped as every event
    (`audit.events.event_of`), about the subscription itself, in no feed (no cursor)."""
    return {
        "id": f"evt_test_{uuid.uuid4().hex}",
        "cursor": None,
        "type": TEST_EVENT_TYPE,
        "occurred_at": now.isoformat(),
        "catalog_version": None,
        "object": {"type": subscription._meta.model_name, "id": str(subscription.pk), "name": subscription.name},
        "model": None,
        "changes": {},
        "actor": actor_name,
        "source": source,
        "reason": "",
        "request_id": request_id,
    }


__all__ = ["body_of", "event_of", "signed_headers", "test_event"]
