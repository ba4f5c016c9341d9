"""Fixtures for webhook tests: a consumer on 127.0.0.1 and a way to subscribe it."""

import pytest

from webhooks.tests.receiver import receiving
from webhooks.transport import Transport


@pytest.fixture
def receiver():
    with receiving() as server:
        yield server


@pytest.fixture
def transport():
    sender = Transport()
    yield sender
    sender.close()
