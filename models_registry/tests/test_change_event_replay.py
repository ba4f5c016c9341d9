"""Change events replay to the registry (issue 11, "one change writer").

A random program of operations runs, each through a real door: the admin's forms and
actions (Django's test client, as a staff administrator), the REST API (a token; create,
PATCH, PUT, delete, the bulk endpoint), the operator commands (`set_model_status`,
`import_models`), imports of generated CSV, JSON and LiteLLM files through the command and
the admin, dependencies (register and unregister), reference data (providers and
industries, through the API and the admin), and reverts of recent entries or of their
whole requests (restores included), forced or not, through the API and the admin. Many
steps are refused (invalid input, a name taken, a delete refused while something depends
on the model, a target that is not there, a field changed since the entry reverted).

After every step: the change events written since the start, replayed over the starting
state (`models_registry.tests.replay`), are exactly the registry's state; every event agrees
with what it replays (its `old` values are the replayed ones); a refused step wrote no
event; and the events name the door and the person.
"""

import io
import json
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.services import api_token_create
from audit.models import AuditEntry
from conftest import ON_POSTGRES
from models_registry.admin.forms import setting_properties
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.services import ProfileInput, aimodel_create, aimodel_update, dependency_register, reference_save
from models_registry.tests.admin_pages import (
    FORM_ID,
    PROFILES,
    add_profile_form,
    encode_setting,
    form_fields,
    page_of,
    post_data,
    signed_in,
    staff,
)
from models_registry.tests.replay import Replay, events_after, last_position, registry_state

MISSING_ID = 10**9
ADMIN = "/admin/models_registry"
# Few names, so that steps meet: the same models, providers and industries are created,
# renamed, referred to and deleted again and again (see seed_registry for the start).
MODEL_NAMES = ["m-1", "m-2", "m-3", "m-4", "m-5", "M-1"]  # "M-1": m-1 renamed by case only, or a clash
ALIASES = ["a-1", "a-2", "m-5"]  # "m-5": an alias that is also a name
PROVIDERS = ["p-1", "p-2", "p-3"]
INDUSTRIES = ["general", "healthcare", "health", "i-new"]  # "health": healthcare renamed
COMPONENTS = [("agent", "a1"), ("workflow", "w1"), ("Not A Slug", "x")]  # the last one is refused
SETTINGS = [{}, {"personal_data_allowed": True}, {"max_temperature": 0.5}]

profiles = st.fixed_dictionaries(
    {"industry": st.sampled_from(INDUSTRIES[:2]), "enabled": st.booleans(), "settings": st.sampled_from(SETTINGS)}
)
# A model's fields as a client sends them.
MODEL_FIELDS = {
    "display_name": st.sampled_from(["", "Alpha"]),
    "provider": st.sampled_from(PROVIDERS),
    "status": st.sampled_from(["active", "inactive", "deprecated"]),
    "context_window": st.sampled_from([None, 8192]),
    "capabilities": st.sampled_from([[], ["vision"], ["streaming", "vision"]]),
    "input_cost_per_million_tokens": st.sampled_from([None, "2.5", "0.1000"]),
    "deprecation_date": st.sampled_from([None, "2030-01-31"]),
    "description": st.sampled_from(["", "About it."]),
    "metadata": st.sampled_from([{}, {"tier": 1}]),
    "aliases": st.lists(st.sampled_from(ALIASES), max_size=2, unique=True),
    "successor": st.sampled_from([None, *MODEL_NAMES]),
    "industries": st.lists(profiles, max_size=2, unique_by=lambda profile: profile["industry"]),
}
# Values every door refuses.
BAD_VALUES = {
    "display_name": " padded",
    "status": "retired",
    "context_window": 0,
    "deprecation_date": "2030-02-30",
    "industries": [{"industry": "general", "enabled": True, "settings": {"max_temperature": 3}}],
}


@st.composite
def model_fields(draw, fields=MODEL_FIELDS, required=()):
    """The `required` fields and up to three others; one time in four, one of them with
    a value the registry refuses."""
    names = draw(st.lists(st.sampled_from(sorted(set(fields) - set(required))), max_size=3, unique=True))
    chosen = {name: draw(fields[name]) for name in [*required, *names]}
    if draw(st.integers(0, 3)) == 0:
        bad = draw(st.sampled_from(sorted(BAD_VALUES)))
        chosen[bad] = BAD_VALUES[bad]
    return chosen


model_names = st.sampled_from(MODEL_NAMES)
targets = st.lists(model_names, min_size=1, max_size=3)
# The admin's form edits the fields; its profile inline is edited as a person does.
FORM_FIELDS = {name: values for name, values in MODEL_FIELDS.items() if name != "industries"}
profile_edits = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete", "toggle"]),
        st.sampled_from(INDUSTRIES),
        st.sampled_from([*SETTINGS, {"max_temperature": 3}]),  # too hot: refused
    ),
    max_size=2,
)
RENAMED_FIELDS = {"name": model_names, **MODEL_FIELDS}  # a change may rename the model too
RENAMED_FORM_FIELDS = {"name": model_names, **FORM_FIELDS}
bulk_actions = st.sampled_from(["activate", "deactivate", "deprecate", "delete"])


def reference_data(actions: list[str]):
    """A provider or an industry of the pool, what to do to it and the fields to send."""
    changes = {"slug": st.sampled_from(PROVIDERS + INDUSTRIES), "name": st.sampled_from(["Named", " padded", ""])}
    return st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just(kind),
                "slug": st.sampled_from(slugs),
                "action": st.sampled_from(actions),
                "changes": st.fixed_dictionaries({}, optional=changes),
            }
        )
        for kind, slugs in (("providers", PROVIDERS), ("industries", INDUSTRIES))
    )


# An import file: rows of models of the pool with any of their fields (a provider the
# registry does not know yet is created by the import), as CSV or JSON; or a LiteLLM
# catalog, whose alias entries add aliases to the models they name.
IMPORT_FIELDS = {**MODEL_FIELDS, "provider": st.sampled_from([*PROVIDERS, "p-imported"])}
import_rows = st.lists(
    st.tuples(model_names, model_fields(IMPORT_FIELDS)).map(lambda row: {"name": row[0], **row[1]}),
    min_size=1,
    max_size=3,
)
litellm_catalogs = st.tuples(
    st.lists(
        st.tuples(model_names, st.sampled_from([*PROVIDERS, "p-imported"]), st.sampled_from([0, 4096, 8192])),
        min_size=1,
        max_size=2,
    ),
    st.lists(st.tuples(st.sampled_from(ALIASES), model_names), max_size=1),
)
import_files = st.one_of(
    st.tuples(st.sampled_from(["csv", "json"]), import_rows),
    st.tuples(st.just("litellm"), litellm_catalogs),
)


# --- the registry as a client finds it ---------------------------------------------------


def model_id(name: str) -> int:
    """The id of the model with this name (any case), or one no model has."""
    found = AIModel.objects.filter(name__iexact=name).values_list("pk", flat=True).first()
    return found or MISSING_ID


def pk_text(model, value, field: str = "slug") -> str:
    """The id a form's select sends for the object `value` names ("" for none)."""
    if value is None:
        return ""
    found = model._base_manager.filter(**{field: value}).values_list("pk", flat=True).first()
    return str(found or MISSING_ID)


def dependency_id(name: str, component: tuple[str, str]) -> int:
    component_type, component_id = component
    dependencies = ModelDependency.objects.filter(
        model_id=model_id(name), component_type=component_type, component_id=component_id
    )
    return dependencies.values_list("pk", flat=True).first() or MISSING_ID


def import_file(fmt: str, rows) -> tuple[str, bytes]:
    """A generated import file (`import_files`), as a file name and its bytes."""
    if fmt == "litellm":
        entries, aliases = rows
        catalog = {
            name: {"litellm_provider": provider, "mode": "chat", "max_input_tokens": tokens}
            for name, provider, tokens in entries
        }
        catalog |= {alias: {"alias_of": target} for alias, target in aliases}
        return "catalog.json", json.dumps(catalog).encode()
    if fmt == "json":
        return "models.json", json.dumps(rows).encode()
    columns = list(dict.fromkeys(column for row in rows for column in row))
    lines = [",".join(columns), *(",".join(csv_cell(row.get(column)) for column in columns) for row in rows)]
    return "models.csv", "\n".join(lines).encode()


def csv_cell(value) -> str:
    """A value as a CSV cell in the project's columns: lists of names joined by commas,
    other lists and objects as JSON, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = ",".join(value)
    elif isinstance(value, list | dict):
        text = json.dumps(value)
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


REFERENCE = {"providers": Provider, "industries": Industry}


class Doors:
    """Every door of the registry, used by one staff administrator (the API with a token,
    the admin signed in, the commands with --actor). Each operation returns whether the
    door refused it (an error status, a form shown again, a command error, nothing done)."""

    def __init__(self):
        self.user = staff("admin")
        self.admin = signed_in(self.user)
        _, key = api_token_create(user=self.user)
        self.api = APIClient(raise_request_exception=False)
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    # The REST API

    def api_create_model(self, name, fields):
        return self._refused("post", "models", {"name": name, **fields})

    def api_change_model(self, name, method, changes):
        path = f"models/{model_id(name)}"
        if method == "patch":
            return self._refused("patch", path, changes)
        shown = self._send("get", path)
        if shown.status_code != 200:
            return True
        # A client's read-modify-write: what it read, its changes applied, sent back whole.
        writable = {"name", *MODEL_FIELDS}
        return self._refused("put", path, {k: v for k, v in shown.json().items() if k in writable} | changes)

    def api_delete_model(self, name):
        return self._refused("delete", f"models/{model_id(name)}")

    def api_bulk(self, action, names, atomic):
        body = {"action": action, "ids": [model_id(name) for name in names], "atomic": atomic}
        response = self._send("post", "models/bulk", body)
        return response.status_code != 200 or response.json()["succeeded"] == 0

    def api_register(self, name, component, component_name):
        body = {"component_type": component[0], "component_id": component[1], "component_name": component_name}
        return self._refused("post", f"models/{model_id(name)}/dependencies", body)

    def api_unregister(self, name, component):
        return self._refused("delete", f"models/{model_id(name)}/dependencies/{dependency_id(name, component)}")

    def api_reference(self, kind, slug, action, changes):
        if action == "create":
            return self._refused("post", kind, {"slug": slug, "name": slug.upper(), **changes})
        path = f"{kind}/{pk_text(REFERENCE[kind], slug)}"
        return self._refused("patch", path, changes) if action == "change" else self._refused("delete", path)

    def _send(self, method, path, body=None):
        response = getattr(self.api, method)(f"/api/v1/{path}", body, format="json")
        assert response.status_code < 500, response.content
        return response

    def _refused(self, method, path, body=None) -> bool:
        return self._send(method, path, body).status_code >= 400

    # The admin

    def admin_create_model(self, name, fields):
        url = f"{ADMIN}/aimodel/add/"
        page = page_of(self.admin.get(url))
        submitted = form_fields(page, FORM_ID)
        fill_model_form(submitted, {"name": name, **fields})
        for profile in fields.get("industries", []):
            add_profile(submitted, page, profile["industry"], profile["enabled"], profile["settings"])
        return self._post_form(url, submitted)

    def admin_change_model(self, name, changes, profile_edits):
        url = f"{ADMIN}/aimodel/{model_id(name)}/change/"
        response = self.admin.get(url)
        if response.status_code != 200:
            return True
        page = page_of(response)
        submitted = form_fields(page, FORM_ID)
        fill_model_form(submitted, changes)
        for edit, slug, profile_settings in profile_edits:
            index = profile_index(submitted, slug)
            if edit == "add":
                add_profile(submitted, page, slug, True, profile_settings)
            elif index is not None and edit == "delete":
                submitted[f"{PROFILES}-{index}-DELETE"] = ["on"]
            elif index is not None:  # toggle "enabled"
                enabled = f"{PROFILES}-{index}-enabled"
                if submitted.pop(enabled, None) is None:
                    submitted[enabled] = ["on"]
        return self._post_form(url, submitted)

    def admin_delete_model(self, name):
        return self._post_delete("aimodel", model_id(name))

    def admin_bulk(self, action, names):
        selected = [str(model_id(name)) for name in names]
        form = {"action": f"bulk_{action}", "_selected_action": selected, "index": "0"}
        response = self.admin.post(f"{ADMIN}/aimodel/", form)
        assert response.status_code == 200, response.status_code
        return response.context["result"].succeeded == 0

    def admin_unregister(self, name, component):
        return self._post_delete("modeldependency", dependency_id(name, component))

    def admin_reference(self, kind, slug, action, changes):
        model_name = REFERENCE[kind]._meta.model_name
        if action == "delete":
            return self._post_delete(model_name, pk_text(REFERENCE[kind], slug))
        if action == "create":
            url, changes = f"{ADMIN}/{model_name}/add/", {"slug": slug, "name": slug.upper(), **changes}
        else:
            url = f"{ADMIN}/{model_name}/{pk_text(REFERENCE[kind], slug)}/change/"
        response = self.admin.get(url)
        if response.status_code != 200:
            return True
        submitted = form_fields(page_of(response), f"{model_name}_form")
        submitted |= {name: [value] for name, value in changes.items()}
        return self._post_form(url, submitted)

    def admin_import(self, file, skip_invalid):
        name, data = import_file(*file)
        form = {"file": SimpleUploadedFile(name, data), "format": ""} | ({"skip_invalid": "on"} if skip_invalid else {})
        preview = self.admin.post(f"{ADMIN}/aimodel/import/", form)
        assert preview.status_code == 200, preview.status_code
        if "token" not in preview.context:  # the file was refused
            return True
        done = self.admin.post(f"{ADMIN}/aimodel/import/confirm/", {"token": preview.context["token"]})
        return done.status_code != 200 or not done.context["report"].applied

    def _post_form(self, url, submitted) -> bool:
        """Post a form as the browser would: saved, it redirects; refused, it comes back."""
        response = self.admin.post(url, post_data(submitted))
        assert response.status_code in (200, 302), response.status_code
        return response.status_code != 302

    def _post_delete(self, model_name, pk) -> bool:
        """Open the delete page and confirm, as a person does. An object that is not there
        has no such page; one that cannot go comes back with the reason instead of
        redirecting."""
        url = f"{ADMIN}/{model_name}/{pk}/delete/"
        if self.admin.get(url).status_code != 200:
            return True
        response = self.admin.post(url, {"post": "yes"})
        assert response.status_code in (200, 302), response.status_code
        return response.status_code != 302

    # The revert door (the API's and the admin's)

    def api_revert(self, back, whole_request, force):
        entry = revertible_entry(back)
        if entry is None:
            return True
        path = f"audit/requests/{entry.request_id}/revert" if whole_request else f"audit/{entry.pk}/revert"
        return self._refused("post", path, {"reason": "undo", "force": force})

    def admin_revert(self, back, whole_request, force):
        """Open the preview and press Revert, as a person does; a preview that offers no
        form (the entry cannot be reverted) is refused."""
        entry = revertible_entry(back)
        if entry is None:
            return True
        target = f"request/{entry.request_id}" if whole_request else f"entry/{entry.pk}"
        url = f"{ADMIN}/aimodel/revert/{target}/"
        preview = self.admin.get(url)
        assert preview.status_code == 200, preview.status_code
        if page_of(preview).find("form", id="revert-form") is None:
            return True
        response = self.admin.post(url, {"reason": "undo", **({"force": "on"} if force else {})})
        assert response.status_code in (200, 302), response.status_code
        return response.status_code != 302

    # The operator commands

    def cli_set_status(self, names, status):
        return self._command("set_model_status", *names, "--status", status)

    def cli_import(self, file, skip_invalid):
        name, data = import_file(*file)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            return self._command("import_models", str(path), *(["--skip-invalid"] if skip_invalid else []))

    def _command(self, *args) -> bool:
        try:
            call_command(*args, "--actor", self.user.username, stdout=io.StringIO(), stderr=io.StringIO())
        except CommandError:
            return True
        return False


def revertible_entry(back: int) -> AuditEntry | None:
    """The `back`-th newest audit entry of a registry change (0: the newest), if any."""
    return AuditEntry.objects.exclude(event_type="").order_by("-id")[back : back + 1].first()


def fill_model_form(submitted: dict, fields: dict) -> None:
    """Type `fields` into the admin's model form as a person would."""
    for name, value in fields.items():
        if name == "industries":
            continue  # the profile inline, filled in by add_profile
        if name == "provider":
            submitted[name] = [pk_text(Provider, value)]
        elif name == "successor":
            submitted[name] = [pk_text(AIModel, value, "name__iexact")]
        elif name == "capabilities":
            submitted[name] = list(value)
        elif name == "aliases":
            submitted[name] = ["\n".join(value)]
        elif name == "metadata":
            submitted[name] = [json.dumps(value)]
        else:
            submitted[name] = ["" if value is None else str(value)]


def profile_index(submitted: dict, slug: str) -> int | None:
    """The inline form of the profile for this industry, if the page has one."""
    wanted = pk_text(Industry, slug)
    for index in range(int(submitted[f"{PROFILES}-TOTAL_FORMS"][0])):
        if submitted.get(f"{PROFILES}-{index}-industry") == [wanted]:
            return index
    return None


def add_profile(submitted: dict, page, slug: str, enabled: bool, settings: dict) -> None:
    """Press "Add another" under the profiles and fill the new one in."""
    blank = form_fields(page, FORM_ID, template_prefix=PROFILES)
    prefix = f"{PROFILES}-{add_profile_form(submitted, blank)}-"
    submitted[prefix + "industry"] = [pk_text(Industry, slug)]
    if not enabled:
        submitted.pop(prefix + "enabled", None)
    else:
        submitted[prefix + "enabled"] = ["on"]
    industry = Industry.objects.filter(slug=slug).first()
    properties = setting_properties(industry) if industry else {}
    for name, value in settings.items():
        if name in properties:  # the page has fields for the settings an industry names
            submitted[f"{prefix}setting__{name}"] = encode_setting(properties[name], value)


# Each operation: the door's sources its events may name, and its arguments.
OPERATIONS = {
    "api_create_model": ({"api"}, {"name": model_names, "fields": model_fields(required=["provider"])}),
    "api_change_model": (
        {"api"},
        {"name": model_names, "method": st.sampled_from(["patch", "put"]), "changes": model_fields(RENAMED_FIELDS)},
    ),
    "api_delete_model": ({"api"}, {"name": model_names}),
    "api_bulk": ({"bulk"}, {"action": bulk_actions, "names": targets, "atomic": st.booleans()}),
    "api_register": (
        {"api"},
        {
            "name": model_names,
            "component": st.sampled_from(COMPONENTS),
            "component_name": st.sampled_from(["", "Agent"]),
        },
    ),
    "api_unregister": ({"api"}, {"name": model_names, "component": st.sampled_from(COMPONENTS)}),
    "api_reference": ({"api"}, reference_data(["create", "change", "delete"])),
    "admin_create_model": ({"admin"}, {"name": model_names, "fields": model_fields(required=["provider"])}),
    "admin_change_model": (
        {"admin"},
        {"name": model_names, "changes": model_fields(RENAMED_FORM_FIELDS), "profile_edits": profile_edits},
    ),
    "admin_delete_model": ({"admin"}, {"name": model_names}),
    "admin_bulk": ({"bulk"}, {"action": bulk_actions, "names": targets}),
    "admin_unregister": ({"admin"}, {"name": model_names, "component": st.sampled_from(COMPONENTS)}),
    "admin_reference": ({"admin"}, reference_data(["create", "change", "delete"])),
    "admin_import": ({"import"}, {"file": import_files, "skip_invalid": st.booleans()}),
    "cli_set_status": (
        {"cli"},
        {"names": targets, "status": st.sampled_from(["active", "inactive", "deprecated"])},
    ),
    "cli_import": ({"import"}, {"file": import_files, "skip_invalid": st.booleans()}),
    # An entry of the last few (or its whole request) reverted, forced or not.
    "api_revert": ({"revert"}, {"back": st.integers(0, 5), "whole_request": st.booleans(), "force": st.booleans()}),
    "admin_revert": ({"revert"}, {"back": st.integers(0, 5), "whole_request": st.booleans(), "force": st.booleans()}),
}


def _arguments(strategy):
    return strategy if isinstance(strategy, st.SearchStrategy) else st.fixed_dictionaries(strategy)


steps = st.one_of([st.tuples(st.just(name), _arguments(arguments)) for name, (_, arguments) in OPERATIONS.items()])


def seed_registry() -> None:
    """The registry a program starts from: two providers; m-1 with a profile and a
    dependency, the successor of m-2; m-3."""
    providers = [reference_save(instance=Provider(slug=slug, name=slug.upper()), actor=None) for slug in ("p-1", "p-2")]
    general = Industry.objects.get(slug="general")
    first = aimodel_create(actor=None, name="m-1", provider=providers[0], industries=[ProfileInput(industry=general)])
    aimodel_create(actor=None, name="m-2", provider=providers[1], successor=first)
    aimodel_create(actor=None, name="m-3", provider=providers[0])
    dependency_register(model=first, component_type="agent", component_id="a1", actor=None)


# Each example is a program of requests; the PostgreSQL run of CI tries more of them.
EXAMPLES = 30 if ON_POSTGRES else 25


def cli_import(fmt: str, rows: list) -> tuple:
    return ("cli_import", {"file": (fmt, rows), "skip_invalid": False})


class TestChangeEventsReplayToTheRegistry(TestCase):
    # What the property found, each kept:
    # an imported provider's event said nothing of its (empty) website and description;
    @example(program=[cli_import("csv", [{"name": "m-4", "provider": "p-imported"}])])
    # the first change to an object made without history (a starter industry, made by a
    # migration) said every field changed from nothing;
    @example(
        program=[
            (
                "api_reference",
                {"kind": "industries", "slug": "general", "action": "change", "changes": {"name": "Named"}},
            )
        ]
    )
    # an import that renamed a model (by case) and removed its profile recorded the profile,
    # named as renamed, before the rename;
    @example(program=[cli_import("csv", [{"name": "M-1", "industries": []}])])
    # an import that renamed a model and named it, renamed, as another's successor recorded
    # a change of successor that was none (the same model).
    @example(program=[cli_import("json", [{"name": "M-1"}, {"name": "m-2", "successor": "M-1"}])])
    @settings(max_examples=EXAMPLES)
    @given(program=st.lists(steps, min_size=1, max_size=8))
    def test_the_events_of_every_door_replayed_over_the_start_give_the_registry(self, program):
        note(f"program: {program!r}")
        seed_registry()
        doors = Doors()
        replay = Replay(registry_state())
        position = last_position()

        for number, (operation, arguments) in enumerate(program, start=1):
            refused = getattr(doors, operation)(**arguments)
            events = events_after(position)
            position = last_position()
            event(f"{operation}: {'refused' if refused else 'changed' if events else 'no change'}")
            note(f"step {number} {operation}: refused={refused}, events={[written['type'] for written in events]}")

            assert not (refused and events), f"step {number} was refused but wrote events: {events}"
            replayed = replay.apply(events)
            assert replay.disagreements == [], f"step {number}"
            assert replayed == registry_state(), f"step {number}"
            assert {written["source"] for written in events} <= OPERATIONS[operation][0], f"step {number}"
            assert {written["actor"] for written in events} <= {doors.user.username}, f"step {number}"


# The replay can fail: what it is blind to, the property would be blind to.


@pytest.mark.django_db
def test_the_replay_does_not_reproduce_a_change_that_left_no_event():
    seed_registry()
    replay, position = Replay(registry_state()), last_position()

    AIModel.objects.filter(name="m-1").update(display_name="Changed quietly")  # no signal, no event

    assert replay.apply(events_after(position)) != registry_state()


@pytest.mark.django_db
def test_the_replay_notes_an_event_whose_old_value_is_not_the_replayed_one():
    seed_registry()
    replay, position = Replay(registry_state()), last_position()
    aimodel_update(model=AIModel.objects.get(name="m-3"), actor=None, display_name="Alpha")
    [event] = events_after(position)
    event["changes"]["display_name"]["old"] = "Something else"

    replay.apply([event])

    assert replay.disagreements == [
        f"model.updated {event['object']} (cursor {event['cursor']}): display_name: old 'Something else', replayed ''"
    ]


@pytest.mark.django_db
def test_the_replay_follows_a_rename_to_everything_that_names_the_renamed_object():
    seed_registry()
    replay, position = Replay(registry_state()), last_position()

    reference_save(instance=Provider.objects.get(slug="p-1"), actor=None)  # unchanged: no event
    provider = Provider.objects.get(slug="p-1")
    provider.slug = "p-9"
    reference_save(instance=provider, actor=None)
    aimodel_update(model=AIModel.objects.get(name="m-1"), actor=None, name="m-9")

    replayed = replay.apply(events_after(position))
    assert replayed == registry_state()
    assert replayed[("aimodel", str(model_id("m-2")))]["successor"] == "m-9"
    assert replayed[("aimodel", str(model_id("m-3")))]["provider"] == "p-9"
