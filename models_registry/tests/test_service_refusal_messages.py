"""The services' refusals, word for word where a person reads them, and who a cancelled
scheduled change names."""

import datetime

import pytest
from django.utils import timezone

from models_registry.services.errors import StaleVersionError
from models_registry.services.scheduled import NotPendingError, scheduled_change_cancel, scheduled_change_create
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_a_stale_version_says_someone_else_changed_the_model():
    assert str(StaleVersionError(current=None)) == "The model was changed by someone else since you loaded it."


def test_a_cancelled_change_names_who_cancelled_it_and_cannot_be_cancelled_again(make_user):
    editor = make_user("editor")
    at = timezone.now() + datetime.timedelta(hours=1)
    change = scheduled_change_create(model=AIModelFactory(), status="inactive", at=at, actor=None)

    cancelled = scheduled_change_cancel(change=change, actor=editor)
    cancelled.refresh_from_db()

    assert (cancelled.state, cancelled.finished_by) == ("cancelled", editor.username)
    with pytest.raises(NotPendingError) as refused:
        scheduled_change_cancel(change=change, actor=editor)
    assert str(refused.value) == "This scheduled change is cancelled; only a pending one can be cancelled."
