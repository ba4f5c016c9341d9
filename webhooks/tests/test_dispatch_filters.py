"""Which events a subscription is owed: those committed after it was made that its filters
let through (types, providers, models, `dependent`), each once, whoever dispatches; a change
that rolls back is never owed; a subscription turned off keeps its place."""

import pytest
from django.db import transaction

from models_registry.choices import ModelStatus
from models_registry.models import Provider
from models_registry.services import aimodel_update, dependency_register, dependency_unregister, reference_save
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from webhooks.dispatch import dispatch_events
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.selectors import models_named, providers_named
from webhooks.services import subscription_create, subscription_update

pytestmark = pytest.mark.django_db
URL = "https://hooks.example.com/x"


def owed(subscription) -> list[tuple[str, str]]:
    """(type, object name) of the events owed to `subscription`, in commit order."""
    rows = WebhookDelivery.objects.filter(subscription=subscription).order_by("position")
    return [(delivery.event_type, delivery.entry_id) for delivery in rows]


def owed_types(subscription) -> list[str]:
    return [event_type for event_type, _ in owed(subscription)]


def subscribe(**filters) -> WebhookSubscription:
    if "providers" in filters:
        filters["providers"] = providers_named(filters["providers"])[0]
    if "aimodels" in filters:
        filters["aimodels"] = models_named(filters["aimodels"])[0]
    return subscription_create(actor=None, name="s", url=URL, **filters)[0]


def test_a_new_subscription_is_owed_only_what_commits_after_it():
    AIModelFactory(name="before")
    subscription = subscribe()

    AIModelFactory(name="after", provider=Provider.objects.get())
    dispatch_events()

    assert owed_types(subscription) == ["model.created"]


def test_filters_combine_and_empty_ones_let_everything_through():
    acme, other = ProviderFactory(slug="acme"), ProviderFactory(slug="other")
    watched = AIModelFactory(name="watched", provider=acme)
    unwatched = AIModelFactory(name="unwatched", provider=acme)
    elsewhere = AIModelFactory(name="elsewhere", provider=other)
    everything = subscribe()
    by_type = subscribe(types=["model.deprecated"])
    by_provider = subscribe(providers=["acme"])
    by_model = subscribe(aimodels=["watched"])
    by_both = subscribe(types=["model.updated"], aimodels=["watched"])

    for model in (watched, unwatched, elsewhere):
        aimodel_update(model=model, actor=None, status=ModelStatus.DEPRECATED)
    aimodel_update(model=watched, actor=None, display_name="Watched closely")
    reference_save(instance=Provider.objects.get(slug="acme"), actor=None)  # nothing changed: no event
    acme.name = "Acme Inc"
    reference_save(instance=acme, actor=None)
    dispatch_events()

    assert owed_types(everything) == ["model.deprecated"] * 3 + ["model.updated", "provider.updated"]
    assert owed_types(by_type) == ["model.deprecated"] * 3
    assert owed_types(by_provider) == ["model.deprecated"] * 2 + ["model.updated", "provider.updated"]
    assert owed_types(by_model) == ["model.deprecated", "model.updated"]
    assert owed_types(by_both) == ["model.updated"]


def test_a_model_filter_follows_the_model_through_a_rename_and_its_deletion():
    model = AIModelFactory(name="old-name")
    subscription = subscribe(aimodels=["old-name"])

    aimodel_update(model=model, actor=None, name="new-name")
    aimodel_update(model=model, actor=None, display_name="Renamed")
    model.delete()
    dispatch_events()

    assert owed_types(subscription) == ["model.updated", "model.updated", "model.deleted"]


def test_dependent_means_the_models_the_component_depends_on_and_its_own_registrations():
    used, unused = AIModelFactory(name="used"), AIModelFactory(name="unused")
    subscription = subscribe(dependent="Billing bot")

    dependency, _ = dependency_register(
        model=used, component_type="agent", component_id="b-1", component_name="Billing bot", actor=None
    )
    dependency_register(model=unused, component_type="agent", component_id="x", component_name="Other", actor=None)
    aimodel_update(model=used, actor=None, status=ModelStatus.DEPRECATED)
    aimodel_update(model=unused, actor=None, status=ModelStatus.DEPRECATED)
    dependency_unregister(dependency=dependency, actor=None)
    dispatch_events()  # after the removal: its own removal still concerns it

    assert owed_types(subscription) == ["dependency.registered", "dependency.removed"]


def test_dependent_models_are_those_depended_on_when_dispatched():
    used = AIModelFactory(name="used")
    dependency_register(model=used, component_type="agent", component_id="b-1", component_name="Bot", actor=None)
    subscription = subscribe(dependent="Bot")

    aimodel_update(model=used, actor=None, status=ModelStatus.DEPRECATED)
    dispatch_events()

    assert owed_types(subscription) == ["model.deprecated"]


def test_a_change_rolled_back_is_never_owed():
    subscription = subscribe()

    with pytest.raises(RuntimeError), transaction.atomic():
        AIModelFactory(name="rolled-back")
        raise RuntimeError
    AIModelFactory(name="kept")
    dispatch_events()

    assert owed_types(subscription) == ["provider.created", "model.created"]


def test_each_event_is_owed_once_however_often_it_is_dispatched():
    subscription = subscribe()
    AIModelFactory()
    dispatch_events()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(cursor=0)  # as if a dispatch was lost

    dispatch_events()

    assert owed_types(subscription) == ["provider.created", "model.created"]


def test_a_subscription_turned_off_keeps_its_place_and_gets_everything_when_back_on():
    subscription = subscribe()
    subscription_update(subscription=subscription, actor=None, active=False)

    AIModelFactory()
    dispatch_events()
    nothing_while_off = owed_types(subscription)
    subscription_update(subscription=subscription, actor=None, active=True)
    dispatch_events()

    assert nothing_while_off == []
    assert owed_types(subscription) == ["provider.created", "model.created"]


def test_subscription_changes_and_entries_that_are_no_events_are_never_owed():
    subscription = subscribe()

    subscribe()  # another subscription's creation: audited, no change event
    subscription_update(subscription=subscription, actor=None, name="renamed")
    dispatch_events()

    assert owed(subscription) == []


def test_a_dispatch_reads_a_batch_and_the_next_one_goes_on_from_there():
    subscription = subscribe()
    for number in range(5):
        AIModelFactory(name=f"m-{number}")

    # 11 links: the subscription's own (audited, no event), then a provider and a model each time.
    made = [dispatch_events(limit=4) for _ in range(4)]

    assert made == [3, 4, 3, 0]
    assert len(owed(subscription)) == len(set(owed(subscription))) == 10
