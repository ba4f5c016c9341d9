"""Retiring a model safely (docs/contract.md §7, "Lifecycle"): "move dependents to the
successor" re-points every registered dependency, all or nothing, refused when the target is
not active, from the API, the admin and a command. Each registration moved is removed from
the old model and registered on the new one, each change with its own audit entry and change
event (`dependency.removed`, `dependency.registered`)."""

import io
import json
import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEntry, SecurityEvent
from models_registry.models import AIModel, ModelDependency
from models_registry.selectors import catalog_version
from models_registry.services import (
    TargetNotActiveError,
    aimodel_move_dependents,
    aimodel_update,
    dependency_register,
)
from models_registry.services import dependencies as dependency_services
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def retiring():
    """gpt-old, succeeded by gpt-new, used by two agents and a workflow (one with an owner)."""
    new = AIModelFactory(name="gpt-new")
    old = AIModelFactory(name="gpt-old", status="deprecated", successor=new)
    ModelDependencyFactory(model=old, component_id="bot-1", component_name="Support bot", owner="support-team")
    ModelDependencyFactory(model=old, component_id="bot-2", component_name="Sales bot")
    ModelDependencyFactory(model=old, component_type="workflow", component_id="wf-9", component_name="Nightly")
    return old, new


def registrations(model) -> set[tuple]:
    rows = ModelDependency.objects.filter(model=model)
    return set(rows.values_list("component_type", "component_id", "component_name", "owner"))


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def post(client, model, body, **headers):
    path = f"/api/v1/models/{model.pk}/move-dependents"
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


# The service


def test_every_dependency_moves_to_the_successor_with_its_name_and_owner(retiring, make_user):
    old, new = retiring
    before = registrations(old)
    editor = make_user("editor")

    moved = aimodel_move_dependents(model=old, actor=editor, reason="gpt-old retires in March")

    assert moved == 3
    assert registrations(old) == set()
    assert registrations(new) == before
    assert set(ModelDependency.objects.filter(model=new).values_list("registered_by", flat=True)) == {editor.username}
    assert AIModel.objects.get(pk=old.pk).status == "deprecated"  # the models themselves are left alone


def test_a_component_already_on_the_target_is_only_removed_from_the_old_model(retiring):
    old, new = retiring
    kept = ModelDependencyFactory(model=new, component_id="bot-1", component_name="Support bot v2")
    mark = last_entry_id()

    moved = aimodel_move_dependents(model=old, actor=None)

    assert moved == 3
    assert ModelDependency.objects.get(model=new, component_id="bot-1").pk == kept.pk
    assert ModelDependency.objects.filter(model=new).count() == 3
    entries = AuditEntry.objects.filter(id__gt=mark)
    assert (
        sorted(entries.values_list("event_type", flat=True))
        == ["dependency.registered"] * 2 + ["dependency.removed"] * 3
    )


def test_one_audit_entry_per_changed_dependency_with_who_why_door_and_request_id(retiring, api_as):
    old, new = retiring
    editor = api_as("editor")
    mark = last_entry_id()

    response = post(editor, old, {"reason": "vendor sunset"}, **{"X-Request-ID": "move-42"})

    assert response.status_code == 200 and response.json() == {"moved": 3}
    entries = list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))
    assert len(entries) == 6  # three registrations removed, three made
    assert {(e.username, e.reason, e.source, e.request_id) for e in entries} == {
        (editor.user.username, "vendor sunset", "api", "move-42")
    }
    assert len({e.timestamp for e in entries}) == 1
    removed = [e for e in entries if e.action == "delete"]
    added = [e for e in entries if e.action == "create"]
    assert {(e.event_type, e.parent_id) for e in removed} == {("dependency.removed", str(old.pk))}
    assert {(e.event_type, e.parent_id) for e in added} == {("dependency.registered", str(new.pk))}
    assert {e.object_id for e in removed}.isdisjoint({e.object_id for e in added})
    bot = next(e for e in added if "bot-1" in e.object_repr)
    assert bot.changes == {
        "model": {"old": None, "new": "gpt-new"},
        "component_type": {"old": None, "new": "agent"},
        "component_id": {"old": None, "new": "bot-1"},
        "component_name": {"old": None, "new": "Support bot"},
        "owner": {"old": None, "new": "support-team"},
    }
    assert next(e for e in removed if "bot-1" in e.object_repr).changes["model"] == {"old": "gpt-old", "new": None}
    history = ModelDependency.history.filter(history_request_id="move-42")
    assert sorted(history.values_list("history_type", flat=True)) == ["+"] * 3 + ["-"] * 3


def test_the_reason_recorded_without_one_names_both_models(retiring):
    old, _ = retiring
    mark = last_entry_id()

    aimodel_move_dependents(model=old, actor=None)

    reasons = set(AuditEntry.objects.filter(id__gt=mark).values_list("reason", flat=True))
    assert reasons == {"move dependents of gpt-old to gpt-new"}


def test_the_change_feed_shows_each_removal_and_registration(retiring, api_as):
    old, _ = retiring
    viewer = api_as("viewer")
    start = viewer.get("/api/v1/changes", {"model": "gpt-new", "limit": 1000}).json()["next"]

    post(api_as("editor"), old, {})

    new_events = viewer.get("/api/v1/changes", {"model": "gpt-new", "after": start}).json()["results"]
    old_events = viewer.get("/api/v1/changes", {"model": "gpt-old", "after": start}).json()["results"]
    assert {(e["type"], e["object"]["type"], e["model"]["name"]) for e in new_events} == {
        ("dependency.registered", "modeldependency", "gpt-new")
    }
    assert len(new_events) == 3
    assert [e["type"] for e in old_events] == ["dependency.removed"] * 3
    assert len({e["catalog_version"] for e in old_events + new_events}) == 1


def test_an_explicit_target_is_used_instead_of_the_successor(retiring):
    old, new = retiring
    other = AIModelFactory(name="gpt-other")

    assert aimodel_move_dependents(model=old, to=other, actor=None) == 3

    assert ModelDependency.objects.filter(model=other).count() == 3
    assert not ModelDependency.objects.filter(model__in=[old, new]).exists()


def test_nothing_to_move_changes_nothing_not_even_the_catalog_version():
    old = AIModelFactory(successor=AIModelFactory())
    version, mark = catalog_version(), last_entry_id()

    assert aimodel_move_dependents(model=old, actor=None) == 0

    assert (catalog_version(), last_entry_id()) == (version, mark)


def test_a_failure_midway_changes_nothing(retiring, monkeypatch):
    """The registrations are removed before the new ones are written: a failure writing them
    must bring the removed ones back (one transaction)."""
    old, new = retiring
    before, version, mark = registrations(old), catalog_version(), last_entry_id()

    def fail(objects):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(dependency_services, "insert_objects", fail)
    with pytest.raises(RuntimeError):
        aimodel_move_dependents(model=old, actor=None)

    assert registrations(old) == before
    assert registrations(new) == set()
    assert (catalog_version(), last_entry_id()) == (version, mark)
    assert not ModelDependency.history.filter(history_type="-").exists()


def test_the_number_of_queries_does_not_grow_with_the_dependencies():
    def queries_to_move(count: int) -> int:
        old = AIModelFactory(successor=AIModelFactory())
        ModelDependencyFactory.create_batch(count, model=old, owner="team")
        with CaptureQueriesContext(connection) as captured:
            assert aimodel_move_dependents(model=old, actor=None) == count
        return len(captured)

    assert queries_to_move(3) == queries_to_move(40)


@pytest.mark.parametrize("status", ["deprecated", "inactive"])
def test_a_target_that_is_not_active_is_refused_and_nothing_moves(retiring, status):
    old, new = retiring
    aimodel_update(model=new, actor=None, status=status)
    before = registrations(old)

    with pytest.raises(TargetNotActiveError, match=f"gpt-new is {status}"):
        aimodel_move_dependents(model=old, actor=None)

    assert registrations(old) == before


# The API


def test_the_api_moves_to_the_successor_by_default_or_to_a_model_named_by_id_or_name(retiring, api_as):
    old, new = retiring
    editor = api_as("editor")
    other = AIModelFactory(name="gpt-other", aliases=["gpt-other-latest"])

    by_name = post(editor, old, {"to": "GPT-OTHER-LATEST", "reason": "try the other"})
    by_id = post(editor, other, {"to": new.pk})
    nothing_left = post(editor, old, {})

    assert (by_name.status_code, by_name.json()) == (200, {"moved": 3})
    assert (by_id.status_code, by_id.json()) == (200, {"moved": 3})
    assert (nothing_left.status_code, nothing_left.json()) == (200, {"moved": 0})
    assert ModelDependency.objects.filter(model=new).count() == 3


def test_the_reason_may_come_from_the_change_reason_header(retiring, api_as):
    old, _ = retiring
    mark = last_entry_id()

    post(api_as("editor"), old, {}, **{"X-Change-Reason": "header reason"})

    assert set(AuditEntry.objects.filter(id__gt=mark).values_list("reason", flat=True)) == {"header reason"}


@pytest.mark.parametrize("status", ["deprecated", "inactive"])
def test_the_api_answers_409_when_the_target_is_not_active(retiring, api_as, status):
    old, new = retiring
    aimodel_update(model=new, actor=None, status=status)
    mark = last_entry_id()

    response = post(api_as("editor"), old, {})

    assert response.status_code == 409
    assert list(response.json()) == ["detail"] and "gpt-new" in response.json()["detail"]
    assert ModelDependency.objects.filter(model=old).count() == 3
    assert last_entry_id() == mark


def test_without_a_successor_or_target_the_api_answers_400_naming_to(api_as):
    lonely = AIModelFactory(name="lonely")
    ModelDependencyFactory(model=lonely)

    response = post(api_as("editor"), lonely, {"reason": "x"})

    assert response.status_code == 400
    assert list(response.json()) == ["to"]
    assert ModelDependency.objects.filter(model=lonely).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"to": "nobody"},
        {"to": "<itself>"},
        {"to": True},
        {"to": [1]},
        {"to": 2**70},
        {"to": "with space"},
        {"to": "\ud800"},
        {"reason": "x" * 501},
        {"reason": 7},
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_moves_nothing(retiring, api_as, body):
    old, _ = retiring
    if body.get("to") == "<itself>":
        body = {"to": old.name}
    mark = last_entry_id()

    # json.dumps escapes a lone surrogate as a client would send it ("\\ud800")
    response = post(api_as("editor"), old, body)

    assert response.status_code == 400, response.content
    assert set(response.json()) == set(body)
    assert ModelDependency.objects.filter(model=old).count() == 3
    assert last_entry_id() == mark


@pytest.mark.parametrize("body", ["[]", "not json", '"to"'], ids=["array", "not-json", "string"])
def test_a_body_that_is_not_an_object_is_a_400(retiring, api_as, body):
    old, _ = retiring

    response = api_as("editor").post(f"/api/v1/models/{old.pk}/move-dependents", body, content_type="application/json")

    assert response.status_code == 400


def test_an_unknown_model_is_a_404(api_as):
    assert post(api_as("editor"), AIModel(pk=10**9), {}).status_code == 404


def test_viewers_are_refused_with_403_and_a_security_log_row_anonymous_callers_with_401(retiring, api_as):
    old, _ = retiring
    viewer = api_as("viewer")

    refused = post(viewer, old, {})
    anonymous = post(APIClient(), old, {})

    assert (refused.status_code, anonymous.status_code) == (403, 401)
    assert SecurityEvent.objects.filter(event="permission_denied", username=viewer.user.username).exists()
    assert ModelDependency.objects.filter(model=old).count() == 3


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_administrators_may_move(retiring, api_as, role):
    old, _ = retiring

    assert post(api_as(role), old, {}).json() == {"moved": 3}


# The admin


def staff_client(make_user, role: str, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(role, is_staff=True))
    return client


def move_page(model) -> str:
    return f"/admin/models_registry/aimodel/{model.pk}/move-dependents/"


def csrf_token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_the_change_page_lists_dependents_with_owners_and_offers_the_move(retiring, make_user):
    old, _ = retiring
    client = staff_client(make_user, "editor")

    page = client.get(f"/admin/models_registry/aimodel/{old.pk}/change/").content.decode()

    assert "Move 3 dependents to gpt-new" in page
    assert move_page(old) in page
    assert "support-team" in page and "agent:bot-1" in page and "workflow:wf-9" in page


def test_viewers_see_the_dependents_but_no_move(retiring, make_user):
    old, _ = retiring
    client = staff_client(make_user, "viewer")

    page = client.get(f"/admin/models_registry/aimodel/{old.pk}/change/").content.decode()

    assert "support-team" in page
    assert move_page(old) not in page


def test_the_admin_confirms_then_moves_with_the_reason_as_the_admin_door(retiring, make_user):
    old, new = retiring
    client = staff_client(make_user, "editor", csrf=True)
    mark = last_entry_id()

    confirmation = client.get(move_page(old))
    done = client.post(
        move_page(old), {"reason": "retiring", "csrfmiddlewaretoken": csrf_token(client, move_page(old))}
    )

    assert confirmation.status_code == 200
    text = confirmation.content.decode()
    assert "Move 3 dependents to gpt-new" in text and "support-team" in text and "Reason" in text
    assert done.status_code == 302 and done["Location"] == f"/admin/models_registry/aimodel/{old.pk}/change/"
    assert ModelDependency.objects.filter(model=new).count() == 3
    entries = AuditEntry.objects.filter(id__gt=mark)
    assert set(entries.values_list("source", "reason")) == {("admin", "retiring")}
    assert entries.count() == 6


def test_the_admin_move_needs_the_csrf_token(retiring, make_user):
    old, _ = retiring
    client = staff_client(make_user, "editor", csrf=True)

    response = client.post(move_page(old), {"reason": "x"})

    assert response.status_code == 403
    assert ModelDependency.objects.filter(model=old).count() == 3


def test_the_admin_says_why_when_the_successor_is_not_active(retiring, make_user):
    old, new = retiring
    aimodel_update(model=new, actor=None, status="inactive")
    client = staff_client(make_user, "editor")

    page = client.get(move_page(old)).content.decode()
    refused = client.post(move_page(old), {"reason": "x"})

    assert "gpt-new is inactive" in page and 'value="Move' not in page
    assert refused.status_code == 200 and "gpt-new is inactive" in refused.content.decode()
    assert ModelDependency.objects.filter(model=old).count() == 3


def test_viewers_may_not_open_or_post_the_admin_move_and_are_logged(retiring, make_user):
    old, _ = retiring
    client = staff_client(make_user, "viewer")

    answers = [client.get(move_page(old)).status_code, client.post(move_page(old), {"reason": "x"}).status_code]

    assert answers == [403, 403]
    assert SecurityEvent.objects.filter(event="permission_denied").exists()
    assert ModelDependency.objects.filter(model=old).count() == 3


@pytest.mark.parametrize("bad_id", ["999999999", "abc"])
def test_the_admin_move_of_an_unknown_model_is_a_404(make_user, bad_id):
    client = staff_client(make_user, "editor")

    assert client.get(f"/admin/models_registry/aimodel/{bad_id}/move-dependents/").status_code == 404


# The command


def run(*args) -> str:
    stdout = io.StringIO()
    call_command(*args, stdout=stdout)
    return stdout.getvalue()


def fail(*args) -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=io.StringIO())
    return caught.value


def test_the_command_moves_to_the_successor_as_the_actor_with_the_reason(retiring, make_user):
    _, new = retiring
    make_user("editor", username="ops")
    mark = last_entry_id()

    out = run("move_dependents", "GPT-OLD", "--reason", "EOL", "--actor", "ops")

    assert out == "gpt-old: moved 3 dependencies to gpt-new\n"
    assert ModelDependency.objects.filter(model=new).count() == 3
    entries = AuditEntry.objects.filter(id__gt=mark)
    assert set(entries.values_list("source", "reason", "username")) == {("cli", "EOL", "ops")}
    assert len(set(entries.values_list("request_id", flat=True))) == 1


def test_the_command_moves_to_the_model_named_by_to(retiring):
    AIModelFactory(name="gpt-other")

    assert run("move_dependents", "gpt-old", "--to", "gpt-other") == "gpt-old: moved 3 dependencies to gpt-other\n"


def test_the_command_exits_1_when_refused(retiring):
    old, new = retiring
    lonely = AIModelFactory(name="lonely")
    ModelDependencyFactory(model=lonely)
    aimodel_update(model=new, actor=None, status="deprecated")

    not_active = fail("move_dependents", "gpt-old")
    no_successor = fail("move_dependents", "lonely")

    assert not_active.returncode == 1 and "gpt-new is deprecated" in str(not_active)
    assert no_successor.returncode == 1 and "no successor" in str(no_successor)
    assert ModelDependency.objects.filter(model=old).count() == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["ghost"], "MODEL: no model named 'ghost'."),
        (["gpt-old", "--to", "ghost"], "--to: no model named 'ghost'."),
        (["gpt-old", "--to", "gpt-old"], "--to: gpt-old is the model itself."),
        (["gpt-old", "--actor", "nobody"], "--actor: no user named 'nobody'."),
        (["gpt-old", "--reason", "x" * 501], "--reason:"),
    ],
)
def test_the_command_exits_2_on_bad_arguments(retiring, args, message):
    error = fail("move_dependents", *args)

    assert error.returncode == 2
    assert str(error).startswith(message)
    assert ModelDependency.objects.filter(model=retiring[0]).count() == 3


def test_model_dependencies_shows_each_owner():
    model = AIModelFactory(name="gpt-a")
    ModelDependencyFactory(model=model, component_id="bot", component_name="Bot", owner="search-team")
    ModelDependencyFactory(model=model, component_type="workflow", component_id="wf", component_name="")

    with pytest.raises(SystemExit):
        call_command("model_dependencies", "gpt-a", stdout=(stdout := io.StringIO()))

    assert sorted(stdout.getvalue().splitlines()[1:]) == ["  agent:bot  Bot  (owner: search-team)", "  workflow:wf"]


# Concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_registration_during_a_move_is_moved_or_left_never_lost():
    """Registrations on the old model race the move: each one ends on the old model (it
    waited for the move) or on the new one (it committed before), exactly once."""
    new = AIModelFactory(name="gpt-new")
    old = AIModelFactory(name="gpt-old", successor=new)
    first = {dependency.component_id for dependency in ModelDependencyFactory.create_batch(50, model=old)}
    racing = [f"late-{number}" for number in range(12)]
    barrier = threading.Barrier(len(racing) + 1)
    errors = []

    def in_thread(work):
        def run():
            try:
                barrier.wait()
                work()
            except Exception as error:  # reported by the assertion below
                errors.append(error)
            finally:
                connections.close_all()

        return threading.Thread(target=run)

    def register(component_id):
        return lambda: dependency_register(model=old, component_type="agent", component_id=component_id, actor=None)

    threads = [in_thread(lambda: aimodel_move_dependents(model=old, actor=None))]
    threads += [in_thread(register(component_id)) for component_id in racing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    on_old = list(ModelDependency.objects.filter(model=old).values_list("component_id", flat=True))
    on_new = list(ModelDependency.objects.filter(model=new).values_list("component_id", flat=True))
    assert sorted(on_old + on_new) == sorted(first | set(racing))  # each exactly once
    assert first <= set(on_new)  # registered before the move: all moved
    assert set(on_old) <= set(racing)  # left on the old model: only registrations that waited
    removed = AuditEntry.objects.filter(event_type="dependency.removed").count()
    registered_on_new = AuditEntry.objects.filter(event_type="dependency.registered", parent_id=str(new.pk)).count()
    assert removed == registered_on_new == len(on_new)


@pytest.fixture
def change_before_the_lock(monkeypatch):
    """change_before_the_lock(write): `write` runs once, between the move's first read of the
    models and the query that locks them, as a concurrent write committed in that gap would
    (on SQLite, where the race cannot be timed with threads)."""

    def arrange(write):
        lock = AIModel.objects.select_for_update
        pending = [write]

        def write_then_lock(*args, **kwargs):
            while pending:
                pending.pop()()
            return lock(*args, **kwargs)

        monkeypatch.setattr(AIModel.objects, "select_for_update", write_then_lock)

    return arrange


def test_a_successor_changed_before_the_lock_is_followed_to_the_new_one(retiring, change_before_the_lock):
    old, new = retiring
    newer = AIModelFactory(name="gpt-newer")
    moving = registrations(old)
    change_before_the_lock(lambda: AIModel.objects.filter(pk=old.pk).update(successor=newer))

    assert aimodel_move_dependents(model=old, actor=None) == 3

    assert registrations(newer) == moving
    assert registrations(new) == registrations(old) == set()


def test_a_target_deleted_before_the_lock_is_refused_and_nothing_moves(retiring, change_before_the_lock):
    old, _ = retiring
    target = AIModelFactory(name="gpt-other")
    moving = registrations(old)
    change_before_the_lock(lambda: AIModel.objects.filter(pk=target.pk).delete())

    with pytest.raises(ValidationError) as refused:
        aimodel_move_dependents(model=old, to=target, actor=None)

    assert refused.value.message_dict == {"to": ["That model no longer exists."]}
    assert registrations(old) == moving
