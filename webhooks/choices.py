"""The vocabularies of webhooks."""

from django.db import models

# The type of the event `POST /api/v1/webhooks/{id}/test` sends (docs/contract.md §7): not a
# registry change, so not in audit.choices.EventType.
TEST_EVENT_TYPE = "webhook.test"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # owed: due at next_attempt_at (a claim moves that on)
    DELIVERED = "delivered", "Delivered"  # a 2xx answer was received
    FAILED = "failed", "Failed"  # given up: retried for WEBHOOK_RETRY_HOURS, or a test that failed
