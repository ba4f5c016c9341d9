"""Registry invariants that must hold under concurrent writes (PostgreSQL only: SQLite
serialises writers, so nothing here could race).

Each test releases real threads together through a barrier; every thread works on its
own database connection and closes it when done.
"""

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from audit.choices import AuditAction
from audit.models import AuditEntry
from models_registry.models import AIModel, ModelDependency, RegisteredName
from models_registry.services import (
    HasDependenciesError,
    StaleVersionError,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_register,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREAD_TIMEOUT = 30  # seconds; a deadlock fails the test instead of hanging it


def run_together(*calls: Callable) -> list:
    """Run each call in its own thread, all released at once; each call's result or exception."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def work(index: int, call: Callable) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            outcomes[index] = call()
        except Exception as error:  # the outcome under test
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a writer is still blocked"
    return outcomes


def successes(outcomes: list) -> list:
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)]


def failures(outcomes: list) -> list:
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]


def test_names_differing_only_in_case_created_at_once_give_one_model():
    provider = ProviderFactory()
    names = ["Gpt-X", "GPT-x", "gpt-x", "GPT-X", "gPt-X", "gpT-x"]

    outcomes = run_together(
        *[lambda name=name: aimodel_create(actor=None, name=name, provider=provider) for name in names]
    )

    [winner] = successes(outcomes)
    losers = failures(outcomes)
    assert len(losers) == len(names) - 1
    assert all(isinstance(error, ValidationError) for error in losers), losers
    assert all("name" in error.message_dict for error in losers), [e.message_dict for e in losers]
    assert list(AIModel.objects.values_list("pk", "name")) == [(winner.pk, winner.name)]
    assert list(RegisteredName.objects.values_list("name", "model_id")) == [("gpt-x", winner.pk)]
    creates = AuditEntry.objects.filter(object_type="aimodel", action=AuditAction.CREATE)
    assert list(creates.values_list("object_id", flat=True)) == [str(winner.pk)]
    assert AIModel.history.count() == 1


def test_a_name_and_an_alias_that_collide_created_at_once_give_one_owner():
    provider = ProviderFactory()

    outcomes = run_together(
        lambda: aimodel_create(actor=None, name="foo", provider=provider),
        lambda: aimodel_create(actor=None, name="bar", aliases=["FOO"], provider=provider),
    )

    [winner] = successes(outcomes)
    [loser] = failures(outcomes)
    assert isinstance(loser, ValidationError), loser
    # The loser is told about the field that collided: its name, or its alias.
    assert set(loser.message_dict) & {"name", "aliases"}, loser.message_dict
    assert list(AIModel.objects.values_list("name", flat=True)) == [winner.name]
    assert RegisteredName.objects.get(name="foo").model_id == winner.pk
    assert AuditEntry.objects.filter(object_type="aimodel", action=AuditAction.CREATE).count() == 1


def test_a_dependency_registration_racing_a_delete_never_leaves_a_dangling_dependency():
    provider = ProviderFactory()

    for round_number in range(20):
        model = AIModelFactory(name=f"contested-{round_number}", provider=provider)

        registered, deleted = run_together(
            lambda model=model: dependency_register(
                model=model, component_type="agent", component_id="a-1", actor=None
            ),
            lambda model=model: aimodel_delete(model=model, actor=None),
        )

        if deleted is None:  # the delete won: the registration found no model
            assert isinstance(registered, AIModel.DoesNotExist), registered
            assert not AIModel.objects.filter(pk=model.pk).exists()
            assert not ModelDependency.objects.filter(model_id=model.pk).exists()
        else:  # the registration won: the delete was refused
            assert isinstance(deleted, HasDependenciesError), deleted
            dependency, created = registered
            assert created
            assert AIModel.objects.filter(pk=model.pk).exists()
            assert list(ModelDependency.objects.filter(model_id=model.pk).values_list("pk", flat=True)) == [
                dependency.pk
            ]

    live = AIModel.objects.values_list("pk", flat=True)
    assert not ModelDependency.objects.exclude(model_id__in=live).exists()


def test_two_updates_from_the_same_version_let_exactly_one_through():
    model = AIModelFactory(display_name="Original")

    outcomes = run_together(
        lambda: aimodel_update(model=model, actor=None, expected_version=1, display_name="From Alice"),
        lambda: aimodel_update(model=model, actor=None, expected_version=1, display_name="From Bob"),
    )

    [winner] = successes(outcomes)
    [loser] = failures(outcomes)
    assert isinstance(loser, StaleVersionError), loser
    assert loser.current.version == 2
    stored = AIModel.objects.get(pk=model.pk)
    assert (stored.display_name, stored.version) == (winner.display_name, 2)
    updates = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk), action=AuditAction.UPDATE)
    assert [entry.changes for entry in updates] == [{"display_name": {"old": "Original", "new": winner.display_name}}]
