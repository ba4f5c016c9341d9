"""Property 17: System Integration Consistency.

Whatever door a change comes through (the services as the admin calls them, the REST API,
the importer, the management commands), every read that other systems depend on agrees
with the database right after it: the selection list `GET /api/v1/models/options` (with
and without filters, and its ETag), the OpenAI-compatible `GET /v1/models` and
`GET /v1/models/{name}`, and the form field `AIModelChoiceField` that feeds pickers.
"""

import contextlib
import io
import json
import tempfile
from pathlib import Path
from unittest import mock

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.services import api_token_create
from models_registry import selectors
from models_registry.choices import BulkAction, ModelStatus, ModelType
from models_registry.forms import AIModelChoiceField
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, CatalogVersion, Industry, ModelIndustryProfile, Provider
from models_registry.services import ProfileInput, aimodel_create, aimodel_delete, aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.streamed import body_json

OPTIONS_URL = "/api/v1/models/options"
OPENAI_URL = "/v1/models"
LISTED = {ModelStatus.ACTIVE, ModelStatus.DEPRECATED}

# A small pool of names, so that random programs create, change and delete the same
# models again and again. Names and aliases carry "/" and ":" on purpose (/v1/models/{name}).
NAMES = ["org/chat-1", "org/chat-1:beta", "Embed:v2", "plain-model"]
ALIASES = {
    "org/chat-1": ["chat-one/latest"],
    "org/chat-1:beta": ["beta:tag"],
    "Embed:v2": ["embed/alias:2"],
    "plain-model": [],
}
LOOKUPS = [*NAMES, *(alias for aliases in ALIASES.values() for alias in aliases), "EMBED:V2", "no/such:model"]
PROVIDERS = ["p-one", "p-two.eu"]
IMPORT_PROVIDERS = [*PROVIDERS, "p-imported"]  # the importer creates providers it does not know
INDUSTRIES = ["general", "healthcare"]
CAPABILITIES = ["streaming", "vision", "function_calling"]
MODEL_TYPES = [ModelType.CHAT, ModelType.EMBEDDING]

# The filtered selection lists checked after every step.
OPTION_QUERIES = [
    {},
    {"model_type": ["chat"]},
    {"model_type": ["chat", "embedding"]},
    {"capability": ["vision"]},
    {"capability": ["vision", "streaming"]},
    {"industry": ["healthcare"]},
    {"industry": ["healthcare"], "model_type": ["embedding"]},
]


# --- what a fresh database read says ---------------------------------------------------


def fresh_models() -> list[dict]:
    """Every model as the database holds it now, by provider slug then name."""
    rows = list(
        AIModel.objects.order_by("provider__slug", "name").values(
            "id", "name", "display_name", "provider__slug", "model_type", "status", "capabilities", "aliases",
            "created_at", "version",
        )
    )  # fmt: skip
    enabled = {}
    for model_id, slug in ModelIndustryProfile.objects.filter(enabled=True).values_list("model_id", "industry__slug"):
        enabled.setdefault(model_id, set()).add(slug)
    for row in rows:
        row["industries"] = enabled.get(row["id"], set())
    return rows


def expected_options(rows: list[dict], query: dict) -> list[dict]:
    """docs/contract.md §3: active models, by provider then name; filters AND together, a repeated
    model_type or industry means any of them, a repeated capability means all of them."""
    selected = []
    for row in rows:
        if row["status"] != ModelStatus.ACTIVE:
            continue
        if "model_type" in query and row["model_type"] not in query["model_type"]:
            continue
        if "industry" in query and not row["industries"] & set(query["industry"]):
            continue
        if not set(query.get("capability", [])) <= set(row["capabilities"]):
            continue
        selected.append(
            {
                "id": row["id"],
                "name": row["name"],
                "display_name": row["display_name"],
                "provider": row["provider__slug"],
                "model_type": row["model_type"],
            }
        )
    return selected


def expected_openai_list(rows: list[dict]) -> dict[str, dict]:
    """docs/contract.md §4: active and deprecated models, created in unix seconds, owned by the provider slug."""
    return {
        row["name"]: {
            "id": row["name"],
            "object": "model",
            "created": int(row["created_at"].timestamp()),
            "owned_by": row["provider__slug"],
        }
        for row in rows
        if row["status"] in LISTED
    }


def expected_lookup(rows: list[dict], name: str) -> str | None:
    """The canonical name `name` (a name or an alias, any case) resolves to on /v1/models/{name}."""
    for row in rows:
        if row["status"] in LISTED and name.lower() in {n.lower() for n in [row["name"], *row["aliases"]]}:
            return row["name"]
    return None


def registry_state() -> list[tuple]:
    """Everything a selection list or a model listing could depend on, to tell whether a step changed anything."""
    return [
        (*(row[key] for key in sorted(row) if key != "industries"), tuple(sorted(row["industries"])))
        for row in fresh_models()
    ] + [tuple(Provider.objects.order_by("pk").values_list("pk", "slug"))]


# --- the doors ---------------------------------------------------------------------------


def make_admin():
    user = get_user_model().objects.create_user(username="integration-admin")
    user.groups.add(Group.objects.get(name="Model Administrators"))
    return user


def api_client(user) -> APIClient:
    _, key = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def model_named(name: str) -> AIModel | None:
    return AIModel.objects.filter(name__iexact=name).first()


def existing_model(index: int) -> AIModel | None:
    """The index-th model there is (modulo how many), so that changes mostly hit a model."""
    models = list(AIModel.objects.order_by("pk"))
    return models[index % len(models)] if models else None


def import_rows(specs: list[tuple]) -> list[dict]:
    """Rows in the project's import columns; JSON keeps lists native, CSV flattens them."""
    return [
        {
            "name": NAMES[index],
            "provider": provider,
            "status": status,
            "model_type": model_type,
            "capabilities": list(capabilities),
            "aliases": ALIASES[NAMES[index]],
            "industries": [{"industry": slug, "enabled": on} for slug, on in industries],
        }
        for index, provider, status, model_type, capabilities, industries in specs
    ]


def import_file(fmt: str, specs: list[tuple]) -> bytes:
    rows = import_rows(specs)
    if fmt == "json":
        return json.dumps(rows).encode()
    header = list(rows[0])
    lines = [",".join(header)]
    for row in rows:
        cells = []
        for column in header:
            value = row[column]
            if column == "industries":
                value = json.dumps(value)
            elif isinstance(value, list):
                value = ",".join(value)
            cells.append('"' + str(value).replace('"', '""') + '"')
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


# --- random programs -------------------------------------------------------------------

indexes = st.integers(0, len(NAMES) - 1)
statuses = st.sampled_from(ModelStatus.values)
capability_sets = st.lists(st.sampled_from(CAPABILITIES), unique=True, max_size=3)
profile_lists = st.lists(st.tuples(st.sampled_from(INDUSTRIES), st.booleans()), unique_by=lambda p: p[0], max_size=2)
model_specs = st.tuples(
    indexes, st.sampled_from(PROVIDERS), statuses, st.sampled_from(MODEL_TYPES), capability_sets, profile_lists
)
import_specs = st.tuples(
    indexes, st.sampled_from(IMPORT_PROVIDERS), statuses, st.sampled_from(MODEL_TYPES), capability_sets, profile_lists
)
changes = st.one_of(
    st.tuples(st.just("status"), statuses),
    st.tuples(st.just("model_type"), st.sampled_from(MODEL_TYPES)),
    st.tuples(st.just("capabilities"), capability_sets),
    st.tuples(st.just("display_name"), st.sampled_from(["", "Alpha", "Beta"])),
    st.tuples(st.just("provider"), st.sampled_from(PROVIDERS)),
    st.tuples(st.just("name"), indexes),  # a rename to another name of the pool
    st.tuples(st.just("industries"), profile_lists),
)
steps = st.one_of(
    st.tuples(st.just("service_create"), model_specs),
    st.tuples(st.just("service_update"), indexes, changes),
    st.tuples(st.just("service_delete"), indexes),
    st.tuples(st.just("api_create"), model_specs),
    st.tuples(st.just("api_patch"), indexes, changes),
    st.tuples(st.just("api_delete"), indexes),
    st.tuples(st.just("api_bulk"), st.sampled_from(BulkAction.values), st.lists(indexes, min_size=1, max_size=4)),
    st.tuples(st.just("import"), st.sampled_from(["csv", "json"]), st.lists(import_specs, min_size=1, max_size=3)),
    st.tuples(st.just("cli_status"), st.lists(st.tuples(indexes, st.booleans()), min_size=1, max_size=3), statuses),
    st.tuples(st.just("cli_import"), st.sampled_from(["csv", "json"]), st.lists(import_specs, min_size=1, max_size=3)),
)


class PickerForm(forms.Form):
    model = AIModelChoiceField()
    chat_model = AIModelChoiceField(model_type="chat", required=False)


class TestEveryReadAgreesAfterEveryChange(TestCase):
    """Property 17: System Integration Consistency.

    After every change, through any door, the selection list, its ETag,
    the OpenAI-compatible listing and the form picker all say what the database says."""

    # --- doors ---

    def service_create(self, spec):
        index, provider, status, model_type, capabilities, industries = spec
        aimodel_create(
            actor=self.admin,
            name=NAMES[index],
            aliases=ALIASES[NAMES[index]],
            provider=Provider.objects.get(slug=provider),
            status=status,
            model_type=model_type,
            capabilities=list(capabilities),
            industries=[ProfileInput(industry=Industry.objects.get(slug=s), enabled=on) for s, on in industries],
        )

    def service_values(self, change) -> dict:
        field, value = change
        if field == "provider":
            return {"provider": Provider.objects.get(slug=value)}
        if field == "name":
            return {"name": NAMES[value], "aliases": ALIASES[NAMES[value]]}
        if field == "industries":
            return {"industries": [ProfileInput(industry=Industry.objects.get(slug=s), enabled=on) for s, on in value]}
        return {field: value}

    def api_values(self, change) -> dict:
        field, value = change
        if field == "name":
            return {"name": NAMES[value], "aliases": ALIASES[NAMES[value]]}
        if field == "industries":
            return {"industries": [{"industry": s, "enabled": on} for s, on in value]}
        return {field: value}

    def run_step(self, step):
        kind, *args = step
        if kind == "service_create":
            with contextlib.suppress(ValidationError):  # the name (or an alias) is taken: nothing changes
                self.service_create(args[0])
        elif kind == "service_update":
            index, change = args
            model = existing_model(index)
            if model is not None:
                with contextlib.suppress(ValidationError):
                    aimodel_update(model=model, actor=self.admin, **self.service_values(change))
        elif kind == "service_delete":
            model = existing_model(args[0])
            if model is not None:
                aimodel_delete(model=model, actor=self.admin)
        elif kind == "api_create":
            index, provider, status, model_type, capabilities, industries = args[0]
            response = self.api.post(
                "/api/v1/models",
                {
                    "name": NAMES[index],
                    "aliases": ALIASES[NAMES[index]],
                    "provider": provider,
                    "status": status,
                    "model_type": model_type,
                    "capabilities": list(capabilities),
                    "industries": [{"industry": s, "enabled": on} for s, on in industries],
                },
                format="json",
            )
            assert response.status_code in (201, 400), response.content
        elif kind == "api_patch":
            index, change = args
            model = existing_model(index)
            if model is not None:
                response = self.api.patch(f"/api/v1/models/{model.pk}", self.api_values(change), format="json")
                assert response.status_code in (200, 400), response.content
        elif kind == "api_delete":
            model = existing_model(args[0])
            if model is not None:
                response = self.api.delete(f"/api/v1/models/{model.pk}")
                assert response.status_code == 204, response.content
        elif kind == "api_bulk":
            action, targets = args
            ids = [m.pk for m in map(existing_model, targets) if m is not None] + [10**12]  # and one missing
            response = self.api.post("/api/v1/models/bulk", {"action": action, "ids": ids}, format="json")
            assert response.status_code == 200, response.content
        elif kind == "import":
            fmt, specs = args
            source = read_source(f"catalog.{fmt}", import_file(fmt, specs), fmt)
            import_models(source, actor=self.admin)
        elif kind == "cli_status":
            targets, status = args
            names = []  # by name or by alias, as an operator types them
            for index, by_alias in targets:
                model = existing_model(index)
                if model is None:
                    names.append(NAMES[index])
                else:
                    names.append(model.aliases[0] if by_alias and model.aliases else model.name)
            try:
                call_command("set_model_status", *names, status=status, actor=self.admin.username, stdout=io.StringIO())
            except CommandError:
                assert not AIModel.objects.exists()  # refused: a name is unknown
        elif kind == "cli_import":
            fmt, specs = args
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"catalog.{fmt}"
                path.write_bytes(import_file(fmt, specs))
                with contextlib.suppress(CommandError):  # an invalid row (a taken alias, say): nothing applied
                    call_command(
                        "import_models",
                        str(path),
                        actor=self.admin.username,
                        stdout=io.StringIO(),
                        stderr=io.StringIO(),
                    )
        else:  # pragma: no cover
            raise AssertionError(kind)

    # --- the reads that must agree ---

    def options(self, query: dict | None = None, if_none_match: str | None = None):
        headers = {"If-None-Match": if_none_match} if if_none_match else {}
        return self.api.get(OPTIONS_URL, query or {}, headers=headers)

    def check_options(self, rows):
        for query in OPTION_QUERIES:
            response = self.options(query)
            assert response.status_code == 200, (query, response.content)
            assert body_json(response) == expected_options(rows, query), query

    def check_openai(self, rows):
        response = self.api.get(OPENAI_URL)
        assert response.status_code == 200
        body = body_json(response)
        assert body["object"] == "list"
        assert {item["id"]: item for item in body["data"]} == expected_openai_list(rows)
        assert len(body["data"]) == len(expected_openai_list(rows))
        for name in LOOKUPS:
            canonical = expected_lookup(rows, name)
            response = self.api.get(f"{OPENAI_URL}/{name}")
            if canonical is None:
                assert response.status_code == 404, name
                assert response.json()["error"]["code"] == "model_not_found"
            else:
                assert response.status_code == 200, name
                assert response.json() == expected_openai_list(rows)[canonical], name

    def check_picker(self, rows):
        options = expected_options(rows, {})
        groups = {}
        for option in options:
            groups.setdefault(option["provider"], []).append(
                (str(option["id"]), option["display_name"] or option["name"])
            )
        form = PickerForm()
        assert list(form.fields["model"].choices) == [("", "---------"), *groups.items()]
        chat_ids = {str(option["id"]) for option in expected_options(rows, {"model_type": ["chat"]})}
        offered_chat = {value for _, group in list(form.fields["chat_model"].choices)[1:] for value, _ in group}
        assert offered_chat == chat_ids
        for row in rows:
            bound = PickerForm(data={"model": str(row["id"])})
            if row["status"] == ModelStatus.ACTIVE:
                assert bound.is_valid(), bound.errors
                assert isinstance(bound.cleaned_data["model"], AIModel)
                assert bound.cleaned_data["model"].pk == row["id"]
            else:
                assert not bound.is_valid()
                assert "model" in bound.errors

    @given(st.lists(model_specs, max_size=3), st.lists(steps, min_size=1, max_size=8))
    def test_every_door_leaves_every_read_consistent(self, seed, program):
        # Keys carry the catalog version, which rolls back with each example: start clean
        # (see test_a_catalog_version_that_goes_back_does_not_revive_a_stale_list).
        cache.clear()
        self.admin = make_admin()
        self.api = api_client(self.admin)
        for slug in PROVIDERS:
            ProviderFactory(slug=slug)
        for spec in seed:
            self.run_step(("service_create", spec))

        tag, state = self.options()["ETag"], registry_state()
        for step in program:
            self.run_step(step)
            rows = fresh_models()
            self.check_options(rows)
            self.check_openai(rows)
            self.check_picker(rows)

            new_state = registry_state()
            response = self.options()
            event(f"{step[0]}: {'changed' if new_state != state else 'no change'}")
            if new_state != state:
                assert response["ETag"] != tag, f"ETag unchanged after {step}"
                stale = self.options(if_none_match=tag)
                assert stale.status_code == 200
                assert stale.json() == expected_options(rows, {})
            current = self.options(if_none_match=response["ETag"])
            assert current.status_code == 304
            assert current.content == b""
            tag, state = response["ETag"], new_state

    def test_with_the_cache_down_options_come_from_the_database(self):
        cache.clear()
        admin = make_admin()
        api = api_client(admin)
        provider = ProviderFactory(slug="p-one")
        chat = AIModelFactory(name="org/chat-1", provider=provider, capabilities=["vision"])
        AIModelFactory(name="Embed:v2", provider=ProviderFactory(slug="a-first"), model_type=ModelType.EMBEDDING)
        AIModelFactory(name="retired", provider=provider, status=ModelStatus.INACTIVE)
        warm = api.get(OPTIONS_URL)  # a cached list exists: it must not hide the change below

        broken = ConnectionError("cache unreachable")
        with (
            mock.patch.object(selectors.cache, "get", side_effect=broken) as cache_get,
            mock.patch.object(selectors.cache, "set", side_effect=broken) as cache_set,
        ):
            for query in OPTION_QUERIES:
                response = api.get(OPTIONS_URL, query)
                assert response.status_code == 200, response.content
                assert response.json() == expected_options(fresh_models(), query)
            assert api.get(OPTIONS_URL, headers={"If-None-Match": warm["ETag"]}).status_code == 304

            changed = api.patch(f"/api/v1/models/{chat.pk}", {"status": "inactive"}, format="json")
            assert changed.status_code == 200
            after = api.get(OPTIONS_URL)
            assert after.status_code == 200
            assert after["ETag"] != warm["ETag"]
            assert [option["name"] for option in after.json()] == ["Embed:v2"]
            assert api.get(OPTIONS_URL, headers={"If-None-Match": warm["ETag"]}).status_code == 200

            form = PickerForm(data={"model": str(chat.pk)})
            assert not form.is_valid()
            assert [group for group, _ in list(form.fields["model"].choices)[1:]] == ["a-first"]

            assert cache_get.called
            assert cache_set.called

        assert api.get(OPTIONS_URL).json() == expected_options(fresh_models(), {})

    def test_a_catalog_version_that_goes_back_does_not_revive_a_stale_list(self):
        """A database restored from a backup (or recreated, as test databases are) takes the
        catalog version back, while the shared cache keeps the lists stored under the later
        versions. The next change reaches a version number already used: its list must be
        the database's, not the one cached before the restore."""
        cache.clear()
        api = api_client(make_admin())
        provider = ProviderFactory(slug="p-one")
        AIModelFactory(name="kept", provider=provider)
        backup_version = CatalogVersion.objects.get(pk=1).version
        assert [o["name"] for o in api.get(OPTIONS_URL).json()] == ["kept"]
        AIModelFactory(name="lost-in-restore", provider=provider)
        assert [o["name"] for o in api.get(OPTIONS_URL).json()] == ["kept", "lost-in-restore"]

        # The backup taken before that change is restored: data and version go back together.
        AIModel.objects.filter(name="lost-in-restore").delete()
        CatalogVersion.objects.filter(pk=1).update(version=backup_version)
        AIModelFactory(name="made-after-restore", provider=provider)

        listed = api.get(OPTIONS_URL).json()
        assert listed == expected_options(fresh_models(), {})
        assert [o["name"] for o in listed] == ["kept", "made-after-restore"]
