"""examples/webhook_consumer.py, run as a service author would, verifies and prints a real
delivery, refuses a forged one, and handles a repeated event once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from llm_admin.tests.servers import free_port
from models_registry.choices import ModelStatus
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory
from webhooks.deliveries import send_due
from webhooks.dispatch import dispatch_events
from webhooks.services import deliveries_redeliver, subscription_create
from webhooks.transport import Transport

pytestmark = pytest.mark.django_db
EXAMPLE = Path(settings.BASE_DIR) / "examples" / "webhook_consumer.py"


def test_the_example_consumer_verifies_prints_and_refuses_forgeries():
    model = AIModelFactory(name="gpt-4o")
    port = free_port()
    subscription, secret = subscription_create(
        actor=None, name="example", url=f"http://127.0.0.1:{port}/hook", types=["model.deprecated"]
    )
    env = {**os.environ, "WEBHOOK_SECRET": secret}
    command = [sys.executable, str(EXAMPLE), "--port", str(port)]
    consumer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    transport = Transport()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if transport.post(f"http://127.0.0.1:{port}/hook", b"{}", {}).status_code == 400:
                break  # listening (and refusing what is not signed)
            time.sleep(0.1)
        aimodel_update(model=model, actor=None, status=ModelStatus.DEPRECATED)
        dispatch_events()
        send_due(transport)
        deliveries_redeliver(delivery_ids=list(subscription.deliveries.values_list("pk", flat=True)))
        send_due(transport)  # the same event again
    finally:
        transport.close()
        consumer.terminate()
        out, err = consumer.communicate(timeout=10)

    lines = out.splitlines()
    assert len(lines) == 1, (out, err)
    assert "model.deprecated" in lines[0] and "gpt-4o" in lines[0] and "'active' -> 'deprecated'" in lines[0]
    assert "refused a delivery: Missing required headers" in err
    assert set(subscription.deliveries.get().attempt_records.values_list("status_code", flat=True)) == {204}
