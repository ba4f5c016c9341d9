"""What a new scheduled change must say (ScheduledChange.clean): its time is strictly in the
future, refused on `at` with one message otherwise; a change already stored is not refused
for having come due."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from models_registry.choices import ScheduledStatus
from models_registry.models import ScheduledChange
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.UTC)


def at_errors(at, *, stored: bool = False) -> dict:
    change = ScheduledChange(model=AIModelFactory(), status=ScheduledStatus.DEPRECATED, at=at)
    if stored:
        change._state.adding = False
    with mock.patch.object(timezone, "now", return_value=NOW):
        try:
            change.clean()
        except ValidationError as error:
            return error.message_dict
    return {}


def test_a_time_after_now_is_taken():
    assert at_errors(NOW + datetime.timedelta(microseconds=1)) == {}


@pytest.mark.parametrize("at", [NOW, NOW - datetime.timedelta(days=1)], ids=["now", "yesterday"])
def test_now_or_earlier_is_refused_on_at(at):
    assert at_errors(at) == {"at": ["Must be in the future."]}


def test_a_stored_change_that_has_come_due_is_not_refused():
    assert at_errors(NOW - datetime.timedelta(days=1), stored=True) == {}


def test_a_change_without_a_time_is_left_to_the_field_check():
    assert at_errors(None) == {}
