"""GET /api/v1/changes, the change feed (docs/contract.md §7, "Change events"): events in
commit order after a cursor, filtered in SQL, each read one statement of the feed; a cursor
older than what retention kept is a 410 naming the oldest; every bad parameter a 400 naming
it; readable by every role, refused (and logged) for anyone else."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit import feed
from audit.models import AuditEntry, AuditLink, SecurityEvent
from audit.retention import prune_history
from models_registry.choices import BulkAction, ModelStatus
from models_registry.models import AIModel
from models_registry.services import (
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_register,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/changes"


@pytest.fixture
def viewer(api_as):
    return api_as("viewer")


def newest_cursor() -> str:
    return str(AuditLink.objects.order_by("-position").values_list("position", flat=True).first() or 0)


def changes(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_events_come_in_commit_order_and_a_follower_sees_each_once(viewer):
    start = newest_cursor()
    acme = ProviderFactory(slug="acme")
    first = AIModelFactory(name="first", provider=acme)
    aimodel_update(model=first, actor=None, status=ModelStatus.DEPRECATED)
    second = AIModelFactory(name="second", provider=acme)

    page = changes(viewer, after=start, limit=2)
    rest = changes(viewer, after=page["next"])
    nothing = changes(viewer, after=rest["next"])

    events = page["results"] + rest["results"]
    assert [(event["type"], event["object"]["name"]) for event in events] == [
        ("provider.created", "acme"),
        ("model.created", "first"),
        ("model.deprecated", "first"),
        ("model.created", "second"),
    ]
    assert page["next"] == events[1]["cursor"]
    cursors = [int(event["cursor"]) for event in events]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4
    assert events[3]["model"] == {"id": second.pk, "name": "second"}
    assert nothing == {"results": [], "next": rest["next"]} and rest["next"] == newest_cursor()


def test_without_after_the_feed_starts_at_the_oldest_event(viewer):
    AIModelFactory(name="one")

    events = changes(viewer, limit=1000)["results"]

    first_link = AuditLink.objects.order_by("position").first()
    assert events[0]["cursor"] == str(first_link.position)
    assert events[-1]["object"]["name"] == "one"


def test_an_event_has_the_contract_shape(viewer):
    start = newest_cursor()
    model = AIModelFactory(name="shaped")
    aimodel_update(model=model, actor=None, reason="cheaper", input_cost_per_million_tokens="1.5")

    [event] = changes(viewer, after=start, type="model.updated")["results"]

    entry = AuditEntry.objects.get(pk=event["id"].removeprefix("evt_"))
    assert set(event) == {
        "id", "cursor", "type", "occurred_at", "catalog_version", "object", "model", "changes", "actor", "source",
        "reason", "request_id",
    }  # fmt: skip
    assert event["object"] == {"type": "aimodel", "id": str(model.pk), "name": "shaped"}
    assert event["changes"]["input_cost_per_million_tokens"]["new"] == "1.5"
    assert (event["reason"], event["request_id"]) == ("cheaper", entry.request_id)
    assert event["catalog_version"] == AuditLink.objects.get(entry_id=entry.pk).catalog_version


def test_a_change_that_rolls_back_never_appears(viewer):
    start = newest_cursor()
    with pytest.raises(RuntimeError), transaction.atomic():
        aimodel_create(actor=None, name="rolled-back", provider=ProviderFactory())
        raise RuntimeError("abandon")
    kept = AIModelFactory(name="kept")

    names = [event["object"]["name"] for event in changes(viewer, after=start)["results"]]

    assert "rolled-back" not in names and names[-1] == kept.name


def test_type_filter_takes_several_types(viewer):
    start = newest_cursor()
    model = AIModelFactory(name="typed")
    aimodel_update(model=model, actor=None, description="more")
    dependency_register(model=model, actor=None, component_type="agent", component_id="bot")

    body = changes(viewer, after=start, type=["model.created", "dependency.registered"])

    assert [event["type"] for event in body["results"]] == ["model.created", "dependency.registered"]


def test_model_filter_takes_an_id_a_name_or_an_alias_and_includes_the_models_parts(viewer):
    start = newest_cursor()
    wanted = AIModelFactory(name="Wanted-Model", aliases=["wanted-latest"])
    AIModelFactory(name="other")
    dependency_register(model=wanted, actor=None, component_type="agent", component_id="bot")

    by_id = changes(viewer, after=start, model=str(wanted.pk))["results"]
    by_name = changes(viewer, after=start, model="wanted-model")["results"]
    by_alias = changes(viewer, after=start, model="WANTED-LATEST")["results"]

    assert [event["type"] for event in by_id] == ["model.created", "dependency.registered"]
    assert by_name == by_id == by_alias
    assert {event["model"]["id"] for event in by_id} == {wanted.pk}


def test_a_deleted_models_id_still_filters_so_a_follower_sees_the_delete(viewer):
    start = newest_cursor()
    model = AIModelFactory(name="going")
    model_id = model.pk
    aimodel_delete(model=AIModel.objects.get(pk=model_id), actor=None)

    events = changes(viewer, after=start, model=str(model_id))["results"]

    assert [event["type"] for event in events] == ["model.created", "model.deleted"]
    assert viewer.get(URL, {"model": "going"}).status_code == 400  # names resolve to current models only


def test_provider_filter_takes_its_models_and_itself(viewer):
    start = newest_cursor()
    acme = ProviderFactory(slug="acme")
    AIModelFactory(name="acme-model", provider=acme)
    AIModelFactory(name="elsewhere", provider=ProviderFactory(slug="other"))

    events = changes(viewer, after=start, provider="acme")["results"]

    assert [(event["type"], event["object"]["name"]) for event in events] == [
        ("provider.created", "acme"),
        ("model.created", "acme-model"),
    ]


def test_dependent_filter_takes_the_models_a_component_depends_on_by_name_or_id(viewer):
    used, also_used, unused = AIModelFactory(name="used"), AIModelFactory(name="also-used"), AIModelFactory()
    for model in (used, also_used):
        dependency_register(
            model=model, actor=None, component_type="agent", component_id="billing-7", component_name="Billing"
        )
    start = newest_cursor()
    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[used.pk, also_used.pk, unused.pk], actor=None)

    by_name = changes(viewer, after=start, dependent="Billing")["results"]
    by_id = changes(viewer, after=start, dependent="billing-7")["results"]

    assert sorted(event["model"]["name"] for event in by_name) == ["also-used", "used"]
    assert {event["type"] for event in by_name} == {"model.deprecated"}
    assert by_id == by_name


def test_filters_combine_and_an_empty_intersection_is_an_empty_page(viewer):
    start = newest_cursor()
    acme = ProviderFactory(slug="acme")
    model = AIModelFactory(name="acme-one", provider=acme)
    other = AIModelFactory(name="other-one")
    dependency_register(model=other, actor=None, component_type="agent", component_id="bot", component_name="Bot")

    both = changes(viewer, after=start, provider="acme", model="acme-one", type="model.created")
    disjoint = changes(viewer, after=start, model=str(model.pk), dependent="Bot")

    assert [event["object"]["name"] for event in both["results"]] == ["acme-one"]
    assert disjoint == {"results": [], "next": newest_cursor()}


def test_entries_that_change_no_registry_object_are_not_events(viewer):
    start = newest_cursor()
    prune_history(before=timezone.now() - datetime.timedelta(days=365))

    body = changes(viewer, after=start)

    assert body == {"results": [], "next": newest_cursor()}
    assert int(body["next"]) > int(start)  # the retention entry's link was passed over


def test_a_rare_match_costs_a_bounded_scan_and_next_says_how_far_it_got(viewer, monkeypatch):
    monkeypatch.setattr(feed, "SCAN_WINDOW", 5)
    start = int(newest_cursor())
    for _ in range(6):
        AIModelFactory()  # a provider and a model each: 12 events that do not match
    rare = AIModelFactory(name="rare")  # its provider, then the model, at start + 14
    end = int(newest_cursor())

    reached, found, after = [], [], start
    while not found:
        body = changes(viewer, after=after, model="rare")
        found, after = body["results"], int(body["next"])
        reached.append(after)

    assert end == start + 14
    assert reached == [start + 5, start + 10, end]  # window by window, then the match
    assert [event["model"]["id"] for event in found] == [rare.pk]


def test_each_read_is_one_statement_whatever_the_page_holds(viewer, django_assert_num_queries):
    start = newest_cursor()
    for _ in range(30):
        AIModelFactory()
    changes(viewer, after=start, limit=1)  # the token's first use writes last_used_at
    slug = AIModel.objects.first().provider.slug

    # token + permissions (2), then the feed: one statement, page and bounds together
    with django_assert_num_queries(4):
        small = changes(viewer, after=start, limit=1)
    with django_assert_num_queries(4):
        large = changes(viewer, after=start, limit=1000)
    with django_assert_num_queries(5):  # + the provider's slug
        filtered = changes(viewer, after=start, limit=1000, provider=slug)

    assert (len(small["results"]), len(large["results"])) == (1, 60)  # a provider and a model each
    assert filtered["results"]


# --- Retention --------------------------------------------------------------------


def test_a_cursor_older_than_what_retention_kept_is_410_with_the_oldest_cursor(viewer):
    early = newest_cursor()
    AIModelFactory(name="old")
    prune_history(before=timezone.now() + datetime.timedelta(seconds=1))  # everything so far goes
    AIModelFactory(name="new", provider=ProviderFactory(slug="newco"))
    oldest_kept = AuditLink.objects.order_by("position").first().position

    gone = viewer.get(URL, {"after": early})
    resumed = changes(viewer, after=gone.json()["oldest"])
    from_start = changes(viewer)

    assert gone.status_code == 410
    assert gone.json()["oldest"] == str(oldest_kept - 1)
    assert "retention" in gone.json()["detail"]
    assert [event["object"]["name"] for event in resumed["results"]] == ["newco", "new"]
    assert from_start["results"] == resumed["results"]


def test_a_cursor_at_the_edge_of_what_is_kept_loses_nothing(viewer):
    AIModelFactory(name="old")
    prune_history(before=timezone.now() + datetime.timedelta(seconds=1))
    edge = str(AuditLink.objects.order_by("position").first().position - 1)

    response = viewer.get(URL, {"after": edge})

    assert response.status_code == 200


# --- Parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": ""}, "after"),
        ({"after": "1" * 19}, "after"),
        ({"after": "\uff11"}, "after"),  # a full-width digit one
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "5.0"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"type": "model.exploded"}, "type"),
        ({"type": ""}, "type"),
        ({"model": "no-such-model"}, "model"),
        ({"model": "999999"}, "model"),
        ({"model": ""}, "model"),
        ({"model": "x\x00y"}, "model"),
        ({"provider": "nobody"}, "provider"),
        ({"provider": "Not A Slug"}, "provider"),
        ({"dependent": "no-such-component"}, "dependent"),
        ({"wait": "31"}, "wait"),
        ({"wait": "-1"}, "wait"),
        ({"wait": "0.5"}, "wait"),
        ({"wait": ""}, "wait"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(viewer, params, field):
    AIModelFactory()

    response = viewer.get(URL, params)

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_a_cursor_past_the_end_of_the_feed_is_a_400(viewer):
    AIModelFactory()
    beyond = str(int(newest_cursor()) + 1)

    response = viewer.get(URL, {"after": beyond})

    assert response.status_code == 400
    assert response.json() == {"after": [f"No such cursor: the feed ends at {newest_cursor()}."]}


def test_a_bad_parameter_changes_nothing(viewer):
    AIModelFactory()
    entries, links = AuditEntry.objects.count(), AuditLink.objects.count()

    viewer.get(URL, {"model": "nothing", "provider": "nobody", "limit": "0"})

    assert (AuditEntry.objects.count(), AuditLink.objects.count()) == (entries, links)


def test_several_bad_parameters_are_named_together(viewer):
    response = viewer.get(URL, {"model": "nothing", "provider": "nobody"})

    assert response.status_code == 400
    assert set(response.json()) == {"model", "provider"}


# --- Roles ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_role_reads_the_feed(api_as, role):
    AIModelFactory(name="seen")

    body = changes(api_as(role))

    assert body["results"][-1]["object"]["name"] == "seen"


def test_anonymous_is_401_and_logged():
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert SecurityEvent.objects.filter(event="permission_denied", path=URL).count() == 1


def test_a_user_without_a_role_is_403_and_logged(api_as):
    response = api_as(None).get(URL)

    assert response.status_code == 403
    denial = SecurityEvent.objects.get(event="permission_denied", path=URL)
    assert denial.username.startswith("nobody")
